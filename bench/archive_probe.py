"""List/search timings and Opus size from bench_archive, in a process of its own (so it can be pinned).

Usage: python -m bench.archive_probe SPEC.json RESULT.json
"""

from bench.probes import read_spec, write_result


def main() -> None:
    spec = read_spec()
    from bench.bench_archive import bench_archive, opus_bytes_per_minute

    sizes = {}
    for answers in spec["answers"]:
        cold, listing, search, fresh = bench_archive(answers)
        sizes[str(answers)] = {"first_list_ms": cold, "list_ms": listing, "search_ms": search, "fresh_list_ms": fresh}
    write_result({"archive": sizes, "opus_english_44k_bytes_per_min": opus_bytes_per_minute()})


if __name__ == "__main__":
    main()
