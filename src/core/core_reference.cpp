#include "core_reference.hpp"

#include "../kernels/level_table.hpp"

namespace lowbit::kernels {

const CoreKernels& reference_core_kernels() {
    static constexpr CoreKernels kReference{&quantize_activation_row_reference, &abs_partial_sums_reference,
                                            &ternarize_reference};
    return kReference;
}

}  // namespace lowbit::kernels
