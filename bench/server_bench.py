#!/usr/bin/python3
"""Serving throughput of an OpenAI-compatible server (lowbit serve, llama-server, ...), side by
side on the same machine: C clients at once each stream one /v1/completions of N tokens, R
rounds. Reports, per round and as medians, the aggregate generated tokens/s (all tokens over
the round's wall time), each request's time to first token, and the per-request decode rate.
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
                       "ignore_eos": True}).encode()
    req = urllib.request.Request(url + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    first = None
    pieces = 0
    with urllib.request.urlopen(req, timeout=600) as r:
        for raw in r:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            text = chunk.get("choices", [{}])[0].get("text") if chunk.get("choices") else None
            if text is None:
                text = chunk.get("content")  # llama-server's native shape, just in case
            if text:
                pieces += 1
                if first is None:
                    first = time.perf_counter()
    end = time.perf_counter()
    result.update(start=start, first=first or end, end=end, pieces=pieces)


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
    decode = [(tokens - 1) / (r["end"] - r["first"]) for r in results if r["end"] > r["first"]]
    return {"aggregate_tokens_per_second": clients * tokens / wall, "wall_seconds": wall,
            "ttft_seconds": ttft, "decode_tokens_per_second": decode, "pieces": [r["pieces"] for r in results]}


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
    print("  text pieces    %s per request (each round)" % [r["pieces"] for r in rounds])


main()
