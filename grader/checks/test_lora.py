"""Checks of exercise "lora" (15 points)."""

from collections.abc import Callable

from grader.checks import Probes, depends_on, expect, fail, points, raised
from grader.judge.messages import Msg
from grader.judge.plan import LORA
from grader.worker.contract import LoraLayer, LoraModel, LoraResult

# the call as the learner reads it, and its model
Config = tuple[str, Callable[[LoraResult], LoraModel]]
DEFAULTS: Config = ("build_lora_model(model)", lambda r: r.defaults)
CONFIGS: tuple[Config, ...] = (
    DEFAULTS,
    (
        "build_lora_model(model, r=4, lora_alpha=8, lora_dropout=0.2, target_modules=('query', 'value'))",
        lambda r: r.r4_value,
    ),
    (
        "build_lora_model(model, r=8, lora_alpha=32, lora_dropout=0.0, target_modules=('key',))",
        lambda r: r.r8_key,
    ),
)


# the failures a model that is not get_peft_model's explains (not, say, arguments ignored: a mistake of its own)
AFTER_PEFT = (
    "lora.trainable_differ",
    "lora.trainable_count",
    "lora.no_layer",
    "lora.layer_setting",
    "lora.outside_trainable",
    "lora.bias_trainable",
)


def _built(probes: Probes, config: Config) -> tuple[LoraModel, LoraModel]:
    what, model = config
    got, ref = model(probes.student(LORA)), model(probes.reference(LORA))
    if got.error is not None:
        raised(what, got.error)
    return got, ref


def _trainable(desc: LoraModel) -> dict[str, int]:
    return {p.name: p.numel for p in desc.params if p.trainable}


def _same_model(a: LoraModel, b: LoraModel) -> bool:
    return _trainable(a) == _trainable(b) and a.layers == b.layers


def _expect_arguments_used(probes: Probes) -> None:
    """Fail when build_lora_model gives the very same adapters for the three settings (the reference's differ):
    its r, lora_alpha, lora_dropout and target_modules are ignored, one mistake behind every check here."""
    got = [model(probes.student(LORA)) for _, model in CONFIGS]
    ref = [model(probes.reference(LORA)) for _, model in CONFIGS]
    if any(g.error is not None for g in got):
        return
    if all(_same_model(got[0], g) for g in got[1:]) and not all(
        _same_model(ref[0], r) for r in ref[1:]
    ):
        fail("lora.arguments_ignored")


def _compare_trainable(what: str, got: LoraModel, ref: LoraModel) -> None:
    have, want = _trainable(got), _trainable(ref)
    extra = sorted(set(have) - set(want))
    missing = sorted(set(want) - set(have))
    if extra or missing:
        parts = []
        if extra:
            parts.append(Msg("lora.unexpected_trainable", count=len(extra), example=extra[0]))
        if missing:
            parts.append(Msg("lora.missing_trainable", count=len(missing), example=missing[0]))
        fail(
            "lora.trainable_differ",
            what=what,
            first=parts[0],
            second=Msg("lora.and_then", text=parts[1]) if len(parts) > 1 else "",
        )
    expect(
        sum(have.values()) == sum(want.values()),
        "lora.trainable_count",
        what=what,
        got=sum(have.values()),
        expected=sum(want.values()),
    )


@points(2)
def test_returns_peft_model(probes: Probes) -> None:
    got, ref = _built(probes, DEFAULTS)
    expect(got.is_peft, "lora.not_peft", got=got.type)
    expect(got.type == ref.type, "lora.task_wrapper", got=got.type, expected=ref.type)


@points(4)
@depends_on("returns_peft_model", when=AFTER_PEFT)
def test_trainable_defaults(probes: Probes) -> None:
    got, ref = _built(probes, DEFAULTS)
    if not _same_model(got, ref):
        _expect_arguments_used(probes)
    _compare_trainable(DEFAULTS[0], got, ref)


@points(3)
@depends_on("returns_peft_model", when=AFTER_PEFT)
def test_trainable_other_settings(probes: Probes) -> None:
    _expect_arguments_used(probes)
    for config in CONFIGS[1:]:
        got, ref = _built(probes, config)
        _compare_trainable(config[0], got, ref)


def _settings(layer: LoraLayer | None) -> tuple[tuple[str, object], ...]:
    """A layer's settings by name (each None where the layer has no adapter)."""
    if layer is None:
        return (("r", None), ("scaling", None), ("dropout", None))
    return (("r", layer.r), ("scaling", layer.scaling), ("dropout", layer.dropout))


@points(3)
@depends_on("returns_peft_model", when=AFTER_PEFT)
def test_rank_alpha_dropout(probes: Probes) -> None:
    _expect_arguments_used(probes)
    for config in CONFIGS:
        got, ref = _built(probes, config)
        for layer, adapters in ref.layers.items():
            have = got.layers.get(layer)
            if have is None:
                fail("lora.no_layer", what=config[0], layer=layer)
            for adapter, want in adapters.items():
                h = have.get(adapter) or next(iter(have.values()), None)
                for (label, got_value), (_, want_value) in zip(_settings(h), _settings(want)):
                    if got_value != want_value:
                        fail(
                            "lora.layer_setting",
                            what=config[0],
                            layer=layer,
                            label=Msg(f"lora.label_{label}"),
                            got=got_value,
                            expected=want_value,
                        )


@points(2)
@depends_on("returns_peft_model", when=AFTER_PEFT)
def test_everything_else_frozen(probes: Probes) -> None:
    got, _ = _built(probes, DEFAULTS)
    wrong = [p.name for p in got.params if p.trainable and "lora_" not in p.name]
    expect(not wrong, "lora.outside_trainable", count=len(wrong), example=wrong[0] if wrong else "")


@points(1)
@depends_on("returns_peft_model", when=AFTER_PEFT)
def test_no_bias_training(probes: Probes) -> None:
    for config in CONFIGS:
        got, _ = _built(probes, config)
        what = config[0]
        wrong = [p.name for p in got.params if p.trainable and p.name.endswith(".bias")]
        expect(
            not wrong,
            "lora.bias_trainable",
            what=what,
            count=len(wrong),
            example=wrong[0] if wrong else "",
        )
