#include "lowbit/error.hpp"

namespace lowbit {

std::string_view error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::bad_argument:
            return "bad_argument";
        case ErrorCode::bad_file:
            return "bad_file";
        case ErrorCode::io:
            return "io";
        case ErrorCode::unsupported:
            return "unsupported";
        case ErrorCode::out_of_memory:
            return "out_of_memory";
        case ErrorCode::context_full:
            return "context_full";
        case ErrorCode::cancelled:
            return "cancelled";
        case ErrorCode::busy:
            return "busy";
    }
    return "?";
}

}  // namespace lowbit
