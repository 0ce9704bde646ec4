#!/usr/bin/python3
"""Serving throughput of an OpenAI-compatible server (lowbit serve, llama-server, ...), side by
side on the same machine: C clients at once each stream one /v1/completions of N tokens, R
rounds. Reports, per round and as medians, the aggregate generated tokens/s (every request's
usage.completion_tokens over the round's wall time), each request's time to its first token
event, and the per-request decode rate. Requests set ignore_eos (lowbit and llama-server both
take it) so each generates exactly N tokens.
Standard library only (Debian's /usr/bin/python3).

    bench/server_bench.py --url http://127.0.0.1:8080 [--clients 4] [--tokens 128] [--rounds 3] [--json]
"""
import argparse
import json
import statistics
import threading
import time
import urllib.request


def one_request(url, prompt, tokens, seed, result):
    body = json.dumps({"prompt": prompt, "max_tokens": tokens, "temperature": 0.8, "seed": seed, "stream": True,
                       "stream_options": {"include_usage": True}, "ignore_eos": True}).encode()
    req = urllib.request.Request(url + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    first = None
    pieces = 0
    generated = tokens
    with urllib.request.urlopen(req, timeout=600) as r:
        for raw in r:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                generated = chunk["usage"]["completion_tokens"]
            choices = chunk.get("choices") or []
            # A token's event, even when its text is empty: a server may hold back the bytes of
            # an unfinished UTF-8 character, or (llama-server on a random-weights model) send
            # tokens that detokenize to nothing.
            if choices and choices[0].get("finish_reason") is None:
                pieces += 1
                if first is None:
                    first = time.perf_counter()
    end = time.perf_counter()
    result.update(start=start, first=first or end, end=end, pieces=pieces, generated=generated)


def round_of(url, clients, tokens, round_index):
    results = [dict() for _ in range(clients)]
    threads = [threading.Thread(target=one_request,
                                args=(url, "Request %d of round %d:" % (i, round_index), tokens, 1000 * round_index + i,
                                      results[i]))
               for i in range(clients)]
    wall_start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall_start
    ttft = [r["first"] - r["start"] for r in results]
    decode = [(r["generated"] - 1) / (r["end"] - r["first"]) for r in results if r["end"] > r["first"]]
    return {"aggregate_tokens_per_second": sum(r["generated"] for r in results) / wall, "wall_seconds": wall,
            "ttft_seconds": ttft, "decode_tokens_per_second": decode, "pieces": [r["pieces"] for r in results],
            "generated": [r["generated"] for r in results]}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    round_of(a.url, 1, 8, 99)  # warm-up
    rounds = [round_of(a.url, a.clients, a.tokens, i) for i in range(a.rounds)]
    aggregate = [r["aggregate_tokens_per_second"] for r in rounds]
    ttft = [t for r in rounds for t in r["ttft_seconds"]]
    decode = [d for r in rounds for d in r["decode_tokens_per_second"]]
    summary = {"url": a.url, "clients": a.clients, "tokens": a.tokens, "rounds": rounds,
               "aggregate_median": statistics.median(aggregate), "ttft_median": statistics.median(ttft),
               "decode_median": statistics.median(decode)}
    if a.json:
        print(json.dumps(summary, indent=2))
        return
    print("%s: %d clients x %d tokens, %d rounds" % (a.url, a.clients, a.tokens, a.rounds))
    print("  aggregate t/s  %.2f (%s)" % (summary["aggregate_median"], " ".join("%.1f" % v for v in aggregate)))
    print("  TTFT           median %.0f ms (min %.0f, max %.0f)" % (1000 * summary["ttft_median"], 1000 * min(ttft),
                                                                   1000 * max(ttft)))
    print("  per request    median %.2f t/s decoding" % summary["decode_median"])
    print("  tokens         %s per request (each round; usage.completion_tokens)" % [r["generated"] for r in rounds])
    print("  token events   %s per request (each round)" % [r["pieces"] for r in rounds])


main()
