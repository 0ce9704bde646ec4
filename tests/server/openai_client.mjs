// The official `openai` npm client against `lowbit serve` (run by openai_client_test.cpp):
// chat and completions, streamed and not, and the client's error types for 400, 401 and 429.
//
//   node openai_client.mjs NPM_PREFIX PLAIN_PORT KEYED_PORT KEY BUSY_PORT
// Prints one line per check; exits 1 on the first failure.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";

const [prefix, plainPort, keyedPort, key, busyPort] = process.argv.slice(2);
const require = createRequire(path.join(prefix, "node_modules", "index.js"));
const OpenAI = require("openai").default ?? require("openai");

const client = (port, apiKey = "unused") =>
  new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey, maxRetries: 0, timeout: 60_000 });

async function check(name, body) {
  try {
    await body();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`FAILED ${name}: ${e.stack ?? e}`);
    process.exit(1);
  }
}

const plain = client(plainPort);
const messages = [
  { role: "system", content: "Answer briefly." },
  { role: "user", content: "Tell me a fortune." },
];

await check("models.list", async () => {
  const models = await plain.models.list();
  assert.equal(models.data[0].id, "tiny-bitnet");
});

let chatText = "";
await check("chat.completions.create", async () => {
  const r = await plain.chat.completions.create({ model: "tiny-bitnet", messages, max_tokens: 24, seed: 7 });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(typeof r.choices[0].message.content, "string");
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  chatText = r.choices[0].message.content;
});

await check("chat.completions.create stream", async () => {
  const stream = await plain.chat.completions.create({
    model: "tiny-bitnet", messages, max_tokens: 24, seed: 7, stream: true, stream_options: { include_usage: true },
  });
  let text = "";
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (choice?.delta?.content) text += choice.delta.content;
    if (choice?.finish_reason) finish = choice.finish_reason;
  }
  assert.equal(text, chatText, "streamed text equals the whole answer with the same seed");
  assert.ok(finish);
  assert.ok(usage && usage.completion_tokens > 0);
});

let completionText = "";
await check("completions.create", async () => {
  const r = await plain.completions.create({ model: "tiny-bitnet", prompt: "Q: What do you get when you cross",
                                             max_tokens: 20, temperature: 0 });
  assert.equal(r.object, "text_completion");
  completionText = r.choices[0].text;
  assert.ok(completionText.length > 0);
});

await check("completions.create stream", async () => {
  const stream = await plain.completions.create({ model: "tiny-bitnet", prompt: "Q: What do you get when you cross",
                                                  max_tokens: 20, temperature: 0, stream: true });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
  assert.equal(text, completionText);
});

await check("400 is BadRequestError naming the field", async () => {
  await assert.rejects(
    plain.chat.completions.create({ model: "tiny-bitnet", messages, temperature: -3 }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === "temperature",
  );
  await assert.rejects(
    plain.chat.completions.create({ model: "tiny-bitnet", messages: [] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === "messages",
  );
});

await check("401 is AuthenticationError", async () => {
  await assert.rejects(client(keyedPort, "wrong").models.list(), (e) => e instanceof OpenAI.AuthenticationError);
  const ok = await client(keyedPort, key).chat.completions.create({ model: "tiny-bitnet", messages, max_tokens: 4 });
  assert.equal(ok.object, "chat.completion");
});

await check("429 is RateLimitError", async () => {
  const busy = client(busyPort);
  const long = await busy.completions.create({ model: "tiny-bitnet", prompt: "Q:", max_tokens: 230, stream: true });
  const iterator = long[Symbol.asyncIterator]();
  await iterator.next();  // the one slot is generating now
  await assert.rejects(
    busy.completions.create({ model: "tiny-bitnet", prompt: "Q:", max_tokens: 2 }),
    (e) => e instanceof OpenAI.RateLimitError && e.status === 429,
  );
  long.controller.abort();
});
