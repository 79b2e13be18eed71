"""``vqa``: the lab's pipeline from the terminal (data, train, predict, release). A thin layer over plain functions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vqa import data, models
from vqa.impl import ImplementationError


def _fail(err: Exception) -> None:
    raise click.ClickException(str(err))


def _said_errors() -> tuple[type[Exception], ...]:
    """The errors the pipeline words for the learner (their code, the data, the model, the folder): told in
    one line, not as a traceback."""
    from vqa import pipeline

    return (pipeline.StudentCodeError, data.DataError, models.ModelError, ImplementationError)


def _load_impl(spec: str):
    from vqa.impl import load_implementation

    try:
        return load_implementation(spec)
    except ImplementationError as err:
        _fail(err)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """MLLM VQA lab: fine-tune BLIP with LoRA to answer questions about icon images."""
    from vqa.progress import quiet_unwatched_bars
    from vqa.quiet import quiet_libraries

    quiet_unwatched_bars()  # before anything imports tqdm: a learner's tqdm(loader) too, when piped
    quiet_libraries()


@main.command("data")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--n", "n_train", default=400, show_default=True, help="Training samples.")
@click.option("--n-test", default=100, show_default=True, help="Test samples.")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--style",
    type=click.Choice(["source", "shifted"]),
    default="shifted",
    show_default=True,
    help="source: coloured icons on white (the tiny base model's pretraining look); "
    "shifted: light icons on black (what the demo fine-tunes on).",
)
def data_command(out: Path, n_train: int, n_test: int, seed: int, style: str) -> None:
    """Generate an icon VQA data set in the IconDomainVQAData layout."""
    folder = data.generate_dataset(out, n_train=n_train, n_test=n_test, seed=seed, style=style)
    click.echo(f"wrote {n_train} training and {n_test} test samples ({style} style) to {folder}")


@main.command("train")
@click.option(
    "--impl",
    "impl_spec",
    default="solutions",
    show_default=True,
    help="exercises, solutions, or a folder with dataset.py, lora.py, train.py, predict.py.",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="IconDomainVQAData folder [default: generated icon data, shifted style].",
)
@click.option(
    "--model",
    "model_name",
    default="tiny",
    show_default=True,
    help="tiny, tiny-random, a local model folder, or a hub id such as Salesforce/blip-vqa-base.",
)
@click.option("--epochs", type=int, default=None, help="[default: 4 for tiny models, 1 otherwise]")
@click.option("--batch-size", type=int, default=None, help="[default: 8]")
@click.option(
    "--lr", type=float, default=None, help="[default: 3e-3 for tiny models, 4e-5 otherwise]"
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("save_model"),
    show_default=True,
)
@click.option(
    "--device",
    "device_name",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
)
@click.option(
    "--load-in-8bit", is_flag=True, help="Quantise the base model to 8 bits (CUDA + bitsandbytes)."
)
@click.option(
    "--load-in-4bit", is_flag=True, help="Quantise the base model to 4 bits (CUDA + bitsandbytes)."
)
@click.option("--seed", default=0, show_default=True)
def train_command(
    impl_spec,
    data_dir,
    model_name,
    epochs,
    batch_size,
    lr,
    out_dir,
    device_name,
    load_in_8bit,
    load_in_4bit,
    seed,
) -> None:
    """Fine-tune with LoRA using an implementation; print accuracy before and after."""
    from vqa import pipeline

    impl = _load_impl(impl_spec)
    try:
        report = pipeline.train(
            impl,
            data_dir=data_dir,
            model_name=model_name,
            out_dir=out_dir,
            device_name=device_name,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            load_in_8bit=load_in_8bit,
            load_in_4bit=load_in_4bit,
            seed=seed,
            echo=click.echo,
        )
    except _said_errors() as err:
        _fail(err)
    if report.before and report.after:
        gain = 100 * (report.after["exact"] - report.before["exact"])
        click.echo(
            f"gain: {gain:+.1f} points · model saved to {out_dir} "
            f"(load it with predict.load_for_inference or `vqa predict --model-dir {out_dir}`)"
        )


@main.command("predict")
@click.option("--model-dir", type=click.Path(path_type=Path), required=True)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder with test_data/test_data/<id>/ [default: the generated demo data].",
)
@click.option("--impl", "impl_spec", default="solutions", show_default=True)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write predictions as JSON lines {id, answer}.",
)
@click.option(
    "--device",
    "device_name",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
)
def predict_command(model_dir, data_dir, impl_spec, out_file, device_name) -> None:
    """Answer the test split with a saved model; report accuracy when answers are known."""
    from vqa import pipeline

    impl = _load_impl(impl_spec)
    try:
        pipeline.predict(
            impl,
            model_dir=model_dir,
            data_dir=data_dir or pipeline.demo_data_dir(),
            device_name=device_name,
            out_file=out_file,
            echo=click.echo,
        )
    except _said_errors() as err:
        _fail(err)


@main.command("build-models")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write tiny-random/ and tiny-pretrained/ into (the package's are vqa/models_data/).",
)
def build_models_command(out_dir: Path) -> None:
    """Rebuild the shipped tiny models from their seeded recipe (minutes: it pretrains tiny-pretrained).

    The package ships one build; on another CPU the same recipe gives slightly other weights (floating-point
    code paths differ), so only maintainers replace the shipped files, and then re-measure the demo with
    `python bench/demo_gain.py`."""
    from vqa import tiny

    for name, folder in tiny.build_models(out_dir, progress=True).items():
        click.echo(f"wrote {name} to {folder}")


@main.command("release")
@click.option(
    "--solutions",
    "solutions_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="[default: the packaged solutions/]",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the exercises [default: the packaged exercises/].",
)
@click.option(
    "--handout",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write a learner handout folder (stubs, lab.ipynb, README; no solutions).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Only report whether exercises/ and both lab notebooks are in sync (exit 1 when not).",
)
def release_command(solutions_dir, out_dir, handout, check) -> None:
    """Generate exercises/ (the stubs and lab.ipynb) and a handout from solutions/; refresh the writefile
    cells of solutions/lab.ipynb from solutions/*.py."""
    from vqa import release
    from vqa.impl import resolve_folder

    source = solutions_dir or resolve_folder("solutions")
    target = out_dir or resolve_folder("exercises")
    try:
        if check:
            stale = [str(target / name) for name in release.drift(source, target)]
            stale += [str(source / name) for name in release.solution_drift(source)]
            if stale:
                click.echo(f"out of sync: {', '.join(stale)} (run `vqa release`)")
                sys.exit(1)
            click.echo("exercises and notebooks are in sync with solutions")
            return
        synced = release.sync_solution_notebook(source)
        if synced:
            click.echo(f"wrote {synced}")
        for path in release.write_exercises(source, target):
            click.echo(f"wrote {path}")
        if handout:
            click.echo(f"wrote handout {release.write_handout(source, handout)}")
    except (release.ReleaseError, OSError) as err:
        _fail(err)


if __name__ == "__main__":
    main()
