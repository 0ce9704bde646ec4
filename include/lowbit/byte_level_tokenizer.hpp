// A tokenizer for synthetic models: byte-level BPE with no merges, so every text encodes to
// one token per byte (special tokens aside) and decodes back to itself.
#pragma once

#include <cstdint>

#include "lowbit/metadata.hpp"

namespace lowbit {

// Sets the `tokenizer.*` keys of `md` (model gpt2, pre llama-bpe, tokens, token_type, empty
// merges, BOS/EOS/EOT ids, add_bos_token) for a vocabulary of `vocab_size` tokens:
//   - ids 0..255: the 256 bytes, in GPT-2's byte spelling (type normal);
//   - Llama-3's special tokens (control): with vocab_size 128256 at Llama-3's own ids
//     (128000 <|begin_of_text|>, 128001 <|end_of_text|>, 128006 <|start_header_id|>,
//     128007 <|end_header_id|>, 128009 <|eot_id|>, and the rest of Llama-3.1's 256 special
//     tokens at 128000..128255); otherwise those five at the top of the vocabulary, in that
//     order (vocab_size - 5 .. vocab_size - 1);
//   - every other id: a filler token "<|filler_ID|>" (type unused), never produced by encode.
// BOS is <|begin_of_text|>, EOS <|end_of_text|>, EOT <|eot_id|>. No chat template is set
// (the built-in Llama-3 format applies). Throws when vocab_size < 261 or exceeds int32.
void write_byte_level_tokenizer(Metadata& md, int64_t vocab_size);

}  // namespace lowbit
