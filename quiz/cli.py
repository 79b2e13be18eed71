"""``quiz`` command line: a thin click layer over bank, session, grading and export."""

from __future__ import annotations

import random
from pathlib import Path

import click

from quiz import export as exporting
from quiz.bank import Bank, BankError, dump_bank, load_bank
from quiz.files import write_json_atomic, write_text_atomic
from quiz.grading import format_report, grade_attempts, write_csv, write_json
from quiz.messages import DEFAULT_LANG, LANGS, message
from quiz.session import (
    AnswersError,
    Presented,
    RunOptions,
    load_answers,
    parse_letter,
    present,
    run_quiz,
    select_questions,
)

LANG = click.Choice(LANGS)
BANK_OPTION = click.option(
    "--bank",
    "bank_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Question bank TOML (default: the one shipped with the package).",
)


def _bank(path: str | None) -> Bank:
    try:
        return load_bank(path)
    except BankError as exc:
        raise click.ClickException(f"invalid question bank:\n{exc}") from None


def _writable(path: str, option: str) -> None:
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise click.UsageError(f"{option} {path}: folder {parent} does not exist")


def _emit(text: str, out: str | None) -> None:
    if out:
        _writable(out, "--out")
        write_text_atomic(out, text)
    else:
        click.echo(text, nl=False)


@click.group(help="Part 4 quiz of the MLLM lab (multimodal LLMs): take it, grade it, export it.")
@click.version_option(package_name="mllm-vqa-lab")
def main() -> None:
    pass


@main.command()
@click.option(
    "--lang",
    type=LANG,
    default=DEFAULT_LANG,
    show_default=True,
    help="Language of the questions and feedback.",
)
@click.option("--shuffle/--no-shuffle", default=None, help="Shuffle questions and options.")
@click.option("--seed", type=int, default=None, help="Seed for --shuffle (implies --shuffle).")
@click.option("--student", default=None, help="Your name, stored in the --out record.")
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="Save the attempt as JSON here."
)
@click.option(
    "--answers",
    "answers_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Answer without prompts from a file: '1=d,2=a,...' or JSON; letters are the lab's original a-d.",
)
@click.option("--exam", is_flag=True, help="Hide feedback until the end.")
@click.option("--only", default=None, help="Ask only these questions, e.g. Q1,Q3 or 1,3.")
@BANK_OPTION
def run(lang, shuffle, seed, student, out, answers_path, exam, only, bank_path) -> None:
    """Take the quiz in the terminal and see your score."""
    bank = _bank(bank_path)
    if out:
        _writable(out, "--out")
    try:
        questions = select_questions(bank, only.split(",") if only else None)
    except KeyError as exc:
        raise click.UsageError(
            f"--only: no question {exc.args[0]!r} (known: {', '.join(bank.ids)})"
        ) from None
    if shuffle is None:
        shuffle = seed is not None
    if shuffle and seed is None:
        seed = random.SystemRandom().randrange(1_000_000)
    presented = present(questions, shuffle=shuffle, seed=seed)

    if answers_path:
        try:
            given = load_answers(answers_path, bank)
        except AnswersError as exc:
            raise click.UsageError(f"--answers: {exc}") from None

        def choose(p: Presented) -> str | None:
            return given.get(p.question.id)
    else:

        def choose(p: Presented) -> str:
            while True:
                raw = click.prompt(
                    message("prompt", lang, letters=f"{p.letters[0]}–{p.letters[-1]}"),
                    default="",
                    show_default=False,
                )
                index = parse_letter(raw, len(p.option_ids))
                if index is not None:
                    return p.option_ids[index]
                click.echo(message("invalid", lang, first=p.letters[0], last=p.letters[-1]))

    options = RunOptions(
        lang=lang,
        exam=exam,
        student=student,
        shuffled=shuffle,
        seed=seed if shuffle else None,
        show_given=bool(answers_path),
    )
    try:
        attempt = run_quiz(bank, presented, choose, click.echo, options)
    except (click.Abort, EOFError, KeyboardInterrupt):
        click.echo("")
        click.echo(message("stopped", lang), err=True)
        raise SystemExit(1) from None
    if out:
        write_json_atomic(out, attempt.to_dict())
        click.echo(message("saved", lang, path=out))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option(
    "--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Write scores as CSV."
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write scores and item statistics as JSON.",
)
@BANK_OPTION
def grade(files, csv_path, json_path, bank_path) -> None:
    """Grade attempt files (or folders of *.json): scores and Moodle item statistics."""
    bank = _bank(bank_path)
    for path, option in ((csv_path, "--csv"), (json_path, "--json")):
        if path:
            _writable(path, option)
    result = grade_attempts(files, bank)
    for _file, error in result.skipped:
        click.echo(f"skipped {error}", err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not result.counted:
        raise click.ClickException("no valid attempt file to grade")
    click.echo(format_report(result))
    if csv_path:
        write_csv(result, csv_path)
        click.echo(f"CSV written to {csv_path}")
    if json_path:
        write_json(result, json_path)
        click.echo(f"JSON written to {json_path}")


@main.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["gift", "md", "json"]), required=True)
@click.option(
    "--lang", type=LANG, default=DEFAULT_LANG, show_default=True, help="Language of the questions."
)
@click.option(
    "--with-key",
    is_flag=True,
    help="md/json: include answers, feedback and sources (GIFT always has them).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="Write here instead of stdout."
)
@BANK_OPTION
def export_cmd(fmt, lang, with_key, out, bank_path) -> None:
    """Export the questions: GIFT for Moodle, Markdown handout, or JSON."""
    bank = _bank(bank_path)
    if fmt == "gift":
        text = exporting.to_gift(bank, lang)
    elif fmt == "md":
        text = exporting.to_markdown(bank, lang, with_key=with_key)
    else:
        text = exporting.to_json(bank, lang, with_key=with_key)
    _emit(text, out)


@main.command()
@click.option(
    "--lang", type=LANG, default=DEFAULT_LANG, show_default=True, help="Language of the questions."
)
@click.option(
    "--toml",
    "as_toml",
    is_flag=True,
    help="Print the whole bank as a plain (unsealed) TOML file for editing; see 'quiz seal'.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="Write here instead of stdout."
)
@BANK_OPTION
def key(lang, as_toml, out, bank_path) -> None:
    """For instructors: show the answer key with explanations and sources."""
    bank = _bank(bank_path)
    if as_toml:
        header = ["Plain question bank with the answer key. Do not ship: run 'quiz seal' on it."]
        _emit(dump_bank(bank, sealed=False, header=header), out)
    else:
        _emit(exporting.key_table(bank, lang), out)


@main.command()
@click.argument("plain", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Sealed bank to write (e.g. quiz/questions.toml); default stdout.",
)
def seal(plain, out) -> None:
    """For instructors: turn a plain bank (see 'quiz key --toml') into the sealed, shippable one."""
    bank = _bank(plain)
    header = [
        "Quiz questions (Part 4 of the MLLM lab). Edit with: quiz key --toml > plain.toml;",
        "then: quiz seal plain.toml --out quiz/questions.toml. The answer key is stored as",
        "salted SHA-256 hashes and the feedback is sealed with the answer (see quiz/README.md).",
    ]
    _emit(dump_bank(bank, sealed=True, header=header), out)
