#pragma once

#include <string_view>

namespace lowbit {

std::string_view version();

}  // namespace lowbit
