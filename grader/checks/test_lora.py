"""Checks of exercise "lora" (15 points)."""

from grader.checks import depends_on, expect, fail, points, raised
from grader.judge.messages import Msg

CONFIG_TEXT = {
    "defaults": "build_lora_model(model)",
    "r4_value": "build_lora_model(model, r=4, lora_alpha=8, lora_dropout=0.2, target_modules=('query', 'value'))",
    "r8_key": "build_lora_model(model, r=8, lora_alpha=32, lora_dropout=0.0, target_modules=('key',))",
}


# the failures a model that is not get_peft_model's explains (not, say, arguments ignored: a mistake of its own)
AFTER_PEFT = ("lora.trainable_differ", "lora.trainable_count", "lora.no_layer", "lora.layer_setting",
              "lora.outside_trainable", "lora.bias_trainable")


def _built(probes, name):
    got, ref = probes.student("lora.build"), probes.reference("lora.build")
    value = got.get(name, {})
    if "error" in value:
        raised(CONFIG_TEXT[name], value["error"])
    return value, ref[name]


def _trainable(desc):
    return {name: numel for name, numel, grad in desc["params"] if grad}


def _same_model(a, b) -> bool:
    return _trainable(a) == _trainable(b) and a["layers"] == b["layers"]


def _expect_arguments_used(probes):
    """Fail when build_lora_model gives the very same adapters for the three settings (the reference's differ):
    its r, lora_alpha, lora_dropout and target_modules are ignored, one mistake behind every check here."""
    got = [probes.student("lora.build").get(name, {}) for name in CONFIG_TEXT]
    ref = [probes.reference("lora.build")[name] for name in CONFIG_TEXT]
    if any("error" in g or "params" not in g for g in got):
        return
    if all(_same_model(got[0], g) for g in got[1:]) and not all(_same_model(ref[0], r) for r in ref[1:]):
        fail("lora.arguments_ignored")


def _compare_trainable(name, got, ref):
    have, want = _trainable(got), _trainable(ref)
    extra = sorted(set(have) - set(want))
    missing = sorted(set(want) - set(have))
    if extra or missing:
        parts = []
        if extra:
            parts.append(Msg("lora.unexpected_trainable", count=len(extra), example=extra[0]))
        if missing:
            parts.append(Msg("lora.missing_trainable", count=len(missing), example=missing[0]))
        fail("lora.trainable_differ", what=CONFIG_TEXT[name], first=parts[0],
             second=Msg("lora.and_then", text=parts[1]) if len(parts) > 1 else "")
    expect(sum(have.values()) == sum(want.values()), "lora.trainable_count", what=CONFIG_TEXT[name],
           got=sum(have.values()), expected=sum(want.values()))


@points(2)
def test_returns_peft_model(probes):
    got, ref = _built(probes, "defaults")
    expect(got["is_peft"], "lora.not_peft", got=got["type"])
    expect(got["type"] == ref["type"], "lora.task_wrapper", got=got["type"], expected=ref["type"])


@points(4)
@depends_on("returns_peft_model", when=AFTER_PEFT)
def test_trainable_defaults(probes):
    got, ref = _built(probes, "defaults")
    if not _same_model(got, ref):
        _expect_arguments_used(probes)
    _compare_trainable("defaults", got, ref)


@points(3)
@depends_on("returns_peft_model", when=AFTER_PEFT)
def test_trainable_other_settings(probes):
    _expect_arguments_used(probes)
    for name in ("r4_value", "r8_key"):
        got, ref = _built(probes, name)
        _compare_trainable(name, got, ref)


@points(3)
@depends_on("returns_peft_model", when=AFTER_PEFT)
def test_rank_alpha_dropout(probes):
    _expect_arguments_used(probes)
    for name in CONFIG_TEXT:
        got, ref = _built(probes, name)
        for layer, adapters in ref["layers"].items():
            have = got["layers"].get(layer)
            if have is None:
                fail("lora.no_layer", what=CONFIG_TEXT[name], layer=layer)
            for adapter, want in adapters.items():
                h = have.get(adapter) or next(iter(have.values()), {})
                for field in ("r", "scaling", "dropout"):
                    if h.get(field) != want[field]:
                        fail("lora.layer_setting", what=CONFIG_TEXT[name], layer=layer,
                             label=Msg(f"lora.label_{field}"), got=h.get(field), expected=want[field])


@points(2)
@depends_on("returns_peft_model", when=AFTER_PEFT)
def test_everything_else_frozen(probes):
    got, _ = _built(probes, "defaults")
    wrong = [n for n, _, grad in got["params"] if grad and "lora_" not in n]
    expect(not wrong, "lora.outside_trainable", count=len(wrong), example=wrong[0] if wrong else "")


@points(1)
@depends_on("returns_peft_model", when=AFTER_PEFT)
def test_no_bias_training(probes):
    for name in CONFIG_TEXT:
        got, _ = _built(probes, name)
        wrong = [n for n, _, grad in got["params"] if grad and n.endswith(".bias")]
        expect(not wrong, "lora.bias_trainable", what=CONFIG_TEXT[name], count=len(wrong),
               example=wrong[0] if wrong else "")
