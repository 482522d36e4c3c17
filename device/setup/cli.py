"""The `reflect` command: run the device, a session, the demo, and look after packs, model and config."""

import argparse
import logging
import os
import signal
import sys
from importlib.metadata import version
from pathlib import Path

from common.errors import ReflectError, SessionNotFound
from device.setup.cli_errors import end_quietly_on_broken_pipe, one_line
from device.setup.notes_user import act_as_notes_owner

log = logging.getLogger("reflect")


def _config(args):
    from device.config import load_config

    overrides: dict[str, dict] = {}
    if getattr(args, "data_dir", None):
        overrides.setdefault("storage", {})["data_dir"] = str(args.data_dir)
    if getattr(args, "model", None):
        overrides.setdefault("model", {})["path"] = str(args.model)
    if getattr(args, "pack", None):
        overrides.setdefault("content", {})["pack"] = args.pack
    return load_config(getattr(args, "config", None), overrides=overrides)


def existing_notes(data_dir: Path) -> None:
    """Commands other than the device's own read notes that are there: a missing data dir is a mistyped path."""
    if not data_dir.is_dir():
        what = "not a folder" if data_dir.exists() else "no notes"
        raise SessionNotFound(f"{what} at {data_dir} (check the path; the device's own commands create it)")


def cmd_run(args, config) -> int:
    from device.setup.runner import run_forever

    return run_forever(config, keyboard=args.keyboard)


def cmd_session(args, config) -> int:
    from device.setup.runner import run_one_session

    return run_one_session(config, keyboard=args.keyboard)


def cmd_demo(args, config) -> int:
    from device.setup import demo

    return demo.main(config, args.answer or [], args.answer_voice, args.json)


def cmd_packs(args, config) -> int:
    from content.packs import discover_packs

    broken = 0
    for entry in discover_packs([config.packs_dir]):
        if isinstance(entry, ReflectError):
            print(f"  (broken) {entry}")
            broken += 1
        else:
            chosen = "*" if entry.id == config.content.pack else " "
            yours = f" (yours, in place of the built-in {entry.replaces})" if entry.replaces else ""
            print(f"{chosen} {entry.id:<24} {entry.title} [{entry.language}, {len(entry.questions)} questions]{yours}")
    return 1 if broken else 0


def cmd_model_install(args, config) -> int:
    from device.setup.model_store import install_model, progress_printer

    path = install_model(config.model_path, source_zip=args.source_zip, progress=progress_printer())
    print(f"Installed the speech model at {path}")
    return 0


def cmd_model_status(args, config) -> int:
    from device.setup.model_store import model_status

    print(model_status(config.model_path))
    return 0


def cmd_config(args, config) -> int:
    from device.config import describe

    print(describe(config))
    return 0


def cmd_devices(args, config) -> int:
    from audio.devices import sounddevice
    from device.flow.control import service_running
    from device.setup.doctor import devices_report

    print(devices_report(sounddevice(), lambda: service_running(config.data_dir)))
    return 0


def cmd_doctor(args, config) -> int:
    from device.setup import doctor

    return doctor.main(config)


def cmd_recover(args, config) -> int:
    from audio.recognizer import ModelLoader, missing_model_part
    from device.flow.owner_jobs import do_or_ask
    from device.notes.recovery import recovered

    def work() -> tuple[int, str]:
        model = None if missing_model_part(config.model_path) else ModelLoader(config.model_path)
        return recovered(config.data_dir, model, config.storage.audio_format)

    code, text = do_or_ask(config.data_dir, "recover", "recover", work)
    print(text)
    return code


def cmd_control(args, config) -> int:
    from device.flow.control import request

    request(config.data_dir, args.word)
    return 0


def cmd_play(args, config) -> int:
    from device.notes.across_time import parse_date
    from device.setup.runner import play_notes, play_question

    if (args.question is None) == (args.session is None):
        raise SessionNotFound("give a session to play, or --question N to hear one question across time")
    if args.question is None:
        return play_notes(config, args.session, args.answer, with_questions=not args.no_question)
    return play_question(config, args.question, parse_date(args.since) if args.since else None)


def cmd_keys_new(args, config) -> int:
    from device.notes.opening import LOSS_WARNING, new_identity

    to_stdout = str(args.out) == "-"
    public = new_identity(args.out)
    where = "standard output" if to_stdout else args.out
    print(
        f"Wrote your identity to {where}.\n{LOSS_WARNING}\n"
        f'Put this public key in the device\'s config, [privacy] recipient = "{public}":\n{public}',
        file=sys.stderr if to_stdout else sys.stdout,
    )  # stdout holds the identity alone
    return 0


def cmd_clock_set(args, config) -> int:
    from device.clock import set_clock

    when = set_clock(args.time, os.geteuid() == 0)
    print(f"The clock is set to {when:%a %d %b %Y, %H:%M}; sessions from now on are dated by it.")
    return 0


def cmd_clock_status(args, config) -> int:
    from device.clock import clock_status

    status = clock_status(config.clock.trust)
    print(f"{'trusted' if status.trusted else 'not trusted'}: {status.reason}")
    return 0


def cmd_open(args, config) -> int:
    from common.wording import counted
    from device.notes.opening import open_archive

    count = open_archive(args.source, args.identity, args.out, args.force)
    print(f"Opened {counted(count, 'session')} into {args.out}; read them with --data-dir {args.out}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from device.notes import backup_commands, brief
    from device.setup import review_cli

    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    common = argparse.ArgumentParser(add_help=False, parents=[verbose])
    common.add_argument(
        "--config",
        type=Path,
        help="config file (default: /etc/reflect/config.toml, then ~/.config/reflect/config.toml)",
    )
    common.add_argument("--data-dir", type=Path, help="where notes are kept")
    with_pack = argparse.ArgumentParser(add_help=False)
    with_pack.add_argument("--pack", help="question pack id")
    with_model = argparse.ArgumentParser(add_help=False, parents=[with_pack])
    with_model.add_argument("--model", type=Path, help="Vosk model directory")

    parser = argparse.ArgumentParser(prog="reflect", description="A voice-guided reflection device.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('reflect-device')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common, with_model], help="wait for the button, forever (the service)")
    run.add_argument("--keyboard", action="store_true", help="use the keyboard instead of the GPIO button")
    run.set_defaults(func=cmd_run, logs_progress=True)
    session = sub.add_parser("session", parents=[common, with_model], help="one session now")
    session.add_argument("--keyboard", action="store_true", help="use the keyboard instead of the GPIO button")
    session.set_defaults(func=cmd_session, logs_progress=True)
    demo = sub.add_parser("demo", parents=[common, with_model], help="a whole simulated session, no hardware needed")
    demo.add_argument(
        "--answer",
        action="append",
        metavar="TEXT",
        help="an answer for the simulated person (repeat): they go, in order, to the questions "
        "it answers (all but the third); with fewer, the rest are skipped",
    )
    demo.add_argument(
        "--answer-voice", metavar="VOICE", help="espeak-ng voice for the answers (default: the pack's language)"
    )
    demo.add_argument("--json", action="store_true", help="print the finished session.json on stdout")
    demo.set_defaults(func=cmd_demo, logs_progress=True)
    sub.add_parser("packs", parents=[common, with_pack], help="list question packs").set_defaults(func=cmd_packs)

    model = sub.add_parser("model", help="the speech model").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    install = model.add_parser(
        "install", parents=[common, with_model], help="download (or --from a zip), verify and install"
    )
    install.add_argument(
        "--from", dest="source_zip", type=Path, metavar="FILE.zip", help="install from a downloaded zip, offline"
    )
    install.set_defaults(func=cmd_model_install)
    model.add_parser("status", parents=[common, with_model], help="what is installed").set_defaults(
        func=cmd_model_status
    )

    sub.add_parser("config", parents=[common, with_model], help="print the effective settings").set_defaults(
        func=cmd_config
    )
    sub.add_parser("devices", parents=[common], help="list audio devices").set_defaults(func=cmd_devices)
    sub.add_parser("doctor", parents=[common, with_model], help="check every part and say how to fix it").set_defaults(
        func=cmd_doctor
    )
    sub.add_parser(
        "recover",
        parents=[common, with_model],
        help="repair notes a crash left unfinished and transcribe what is missing",
    ).set_defaults(func=cmd_recover, reads_notes=True)
    press = sub.add_parser("press", parents=[common], help="a short press of the button, sent to the running service")
    press.add_argument(
        "--double",
        action="store_const",
        const="double-press",
        default="press",
        dest="word",
        help="two presses in quick succession: in the ready state, hear a question across time",
    )
    press.set_defaults(func=cmd_control)
    hold = sub.add_parser("hold", parents=[common], help="a hold of the button, sent to the running service")
    hold.add_argument(
        "--long",
        action="store_const",
        const="long-hold",
        default="hold",
        dest="word",
        help="kept down past button.off_hold_s: in the ready state, the device powers off",
    )
    hold.set_defaults(func=cmd_control)
    play = sub.add_parser(
        "play",
        parents=[common, with_pack],
        help="play a session's answers (or one), or one question's answers across time",
    )
    play.add_argument("session", nargs="?", help="folder name, unique prefix, or 'latest'")
    play.add_argument("answer", nargs="?", type=int, help="only this answer number")
    play.add_argument("--no-question", action="store_true", help="don't read the question first")
    play.add_argument(
        "--question",
        type=int,
        metavar="N",
        help="instead of a session: your answers to question N of "
        "the latest session, oldest first, each introduced by its date",
    )
    play.add_argument("--since", metavar="DATE", help="with --question: only answers from this date on (YYYY-MM-DD)")
    play.set_defaults(func=cmd_play, reads_notes=True)
    keys = sub.add_parser("keys", help="the owner's key for sealed notes").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    new = keys.add_parser(
        "new", parents=[verbose], help="make an identity (on your computer, not the device) and print its public key"
    )
    new.add_argument(
        "--out",
        type=Path,
        required=True,
        help="file to write the identity to (never overwritten; - for standard output)",
    )
    new.set_defaults(func=cmd_keys_new)
    opener = sub.add_parser(
        "open", parents=[common], help="turn a copied archive with sealed notes into an ordinary one"
    )
    opener.add_argument("source", type=Path, help="a copied data dir, sessions folder, session folder, or a tar of one")
    opener.add_argument(
        "--identity", type=Path, required=True, help="your identity file (reflect keys new, age-keygen)"
    )
    opener.add_argument("--out", type=Path, required=True, help="new (or empty) folder for the opened archive")
    opener.add_argument("--force", action="store_true", help="replace an archive already opened into --out")
    opener.set_defaults(func=cmd_open)
    clock = sub.add_parser("clock", help="the device's clock (a Pi 4 has no battery-backed one)").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    setter = clock.add_parser("set", parents=[common], help='set the date and time, as root: "2026-12-06 19:30"')
    setter.add_argument("time", help="the real local time, YYYY-MM-DD HH:MM")
    setter.set_defaults(func=cmd_clock_set, keeps_root=True)
    clock.add_parser("status", parents=[common], help="whether the clock is trusted, and why").set_defaults(
        func=cmd_clock_status
    )
    review_cli.register(sub, [common])
    backup_commands.register(sub, [common])
    brief.register(sub, [common])
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file-size limit must be an EFBIG error the session handles
    args = build_parser().parse_args(argv)
    quiet = logging.INFO if getattr(args, "logs_progress", False) else logging.WARNING  # the rest say it on stdout
    logging.basicConfig(level=logging.DEBUG if args.verbose else quiet, format="%(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)  # degraded-but-working states are logged once each, as warnings
    try:
        config = _config(args)
        if not getattr(args, "keeps_root", False):  # setting the clock is root's own business
            act_as_notes_owner(config.data_dir, getattr(args, "writes_for_caller", False))
        if getattr(args, "reads_notes", False):
            existing_notes(config.data_dir)
        code = args.func(args, config)
        sys.stdout.flush()  # a closed pipe is found here, not at exit
        return code
    except BrokenPipeError:
        return end_quietly_on_broken_pipe()
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - the one place every failure becomes one line
        log.debug("the detail of the error below", exc_info=True)
        print(one_line(error), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
