#include "lowbit/version.hpp"

namespace lowbit {

std::string_view version() { return LOWBIT_VERSION_STRING; }

}  // namespace lowbit
