// The test oracle for lowbit's tokenizer: the Llama-3 tokenizer of the npm package
// llama3-tokenizer-js (an independent JavaScript implementation that bundles Meta's real
// vocabulary and merges). Writes the vocabulary and merges it holds, and its token ids for
// each input text, with special tokens parsed and not parsed.
//
//   node llama3_oracle.mjs NPM_PREFIX INPUT.json OUTPUT.json
//
// INPUT.json: {"texts": ["...", ...], "byte_strings": ["hex", ...]}. OUTPUT.json:
// {"package_version", "tokens" (by id), "first_special" (ids from here on are the package's
// special tokens), "merges" (in rank order, "left right" as in GGUF), "results":
// [{"special": [ids], "plain": [ids]}, ...], "text_decoder": ["...", ...]}. The last holds
// each byte string decoded by Node's WHATWG TextDecoder, which replaces ill-formed UTF-8 the
// way lowbit's StreamDecoder must: the oracle for that.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [prefix, inputPath, outputPath] = process.argv.slice(2);
if (!outputPath) {
    console.error('usage: node llama3_oracle.mjs NPM_PREFIX INPUT.json OUTPUT.json');
    process.exit(2);
}
const packageDir = join(prefix, 'node_modules', 'llama3-tokenizer-js');
const packageJson = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const module = await import(pathToFileURL(join(packageDir, packageJson.main)).href);
const tokenizer = module.default;
const { Llama3Tokenizer } = module;

// Without special tokens (an empty list replaces the package's own) the vocabulary is the
// base vocabulary; the package appends its special tokens after it.
const firstSpecial = new Llama3Tokenizer(undefined, undefined, []).vocabById.length;

// The package keeps merges in a Map from "left right" to priority 2 * rank + 1.
const merges = [...tokenizer.merges.entries()].sort((a, b) => a[1] - b[1]);
merges.forEach(([text, priority], rank) => {
    if (priority !== 2 * rank + 1) throw new Error(`merge ${rank} '${text}' has priority ${priority}`);
});

// The package breaks ties between merges of one rank by position / prompt.length, which
// stays below the gap of 2 between ranks only while a word has fewer bytes than twice the
// prompt's UTF-16 length; a line of CJK text can break that. Appending a separator and ASCII
// padding lengthens the prompt without changing the tokens before the separator (the text
// on each side of it is tokenized alone), and the padding's own tokens are cut off again.
const bare = { bos: false, eos: false };

function encodeWithSeparator(text, separator, options, separatorId) {
    // ASCII words of two bytes: the padding alone is safe from the limitation it works around.
    const pad = 'a '.repeat(Buffer.byteLength(text) + 1);
    const ids = tokenizer.encode(text + separator + pad, options);
    const tail = [separatorId, ...tokenizer.encode(pad, bare)];
    const cut = ids.length - tail.length;
    if (cut < 0 || tail.some((id, i) => ids[cut + i] !== id)) {
        throw new Error(`the separator did not separate: ${JSON.stringify(text)}`);
    }
    return ids.slice(0, cut);
}

// Special tokens parsed: the package's default, with <|end_of_text|> as the separator.
const endOfText = tokenizer.getSpecialTokenId('<|end_of_text|>');
const encodeSpecial = (text) => encodeWithSeparator(text, '<|end_of_text|>', bare, endOfText);

// Special tokens not parsed: the package's encode() takes the special-token pattern as an
// option; here it matches only a private-use separator, which the package then emits as the
// fallback id -1.
const separator = '\uE000\uE001';
const plainOptions = { bos: false, eos: false, specialTokenRegex: /\uE000\uE001/g, unexpectedSpecialTokenFallback: -1 };
const encodePlain = (text) => encodeWithSeparator(text, separator, plainOptions, -1);

const { texts, byte_strings: byteStrings = [] } = JSON.parse(readFileSync(inputPath, 'utf8'));
const results = texts.map((text, i) => {
    if (text.includes(separator)) throw new Error(`text ${i} holds the separator U+E000 U+E001`);
    return { special: encodeSpecial(text), plain: encodePlain(text) };
});

// ignoreBOM: keep a leading U+FEFF (by default TextDecoder drops it; repair_utf8 does not).
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const decoded = byteStrings.map((hex) => textDecoder.decode(Buffer.from(hex, 'hex')));

writeFileSync(
    outputPath,
    JSON.stringify({
        package_version: packageJson.version,
        tokens: tokenizer.vocabById,
        first_special: firstSpecial,
        merges: merges.map(([text]) => text),
        results,
        text_decoder: decoded,
    }),
);
