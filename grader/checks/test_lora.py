"""Checks of exercise "lora" (15 points)."""

from grader.checks import error_text, expect, fail, points

CONFIG_TEXT = {
    "defaults": "build_lora_model(model)",
    "r4_value": "build_lora_model(model, r=4, lora_alpha=8, lora_dropout=0.2, target_modules=('query', 'value'))",
    "r8_key": "build_lora_model(model, r=8, lora_alpha=32, lora_dropout=0.0, target_modules=('key',))",
}


def _built(probes, name):
    got, ref = probes.student("lora.build"), probes.reference("lora.build")
    value = got.get(name, {})
    if "error" in value:
        fail(f"{CONFIG_TEXT[name]} raised: {error_text(value['error'])}")
    return value, ref[name]


def _trainable(desc):
    return {name: numel for name, numel, grad in desc["params"] if grad}


def _compare_trainable(name, got, ref):
    have, want = _trainable(got), _trainable(ref)
    extra = sorted(set(have) - set(want))
    missing = sorted(set(want) - set(have))
    if extra or missing:
        parts = []
        if extra:
            parts.append(f"{len(extra)} unexpected trainable (e.g. {extra[0]})")
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        fail(f"{CONFIG_TEXT[name]}: trainable parameters differ from the reference's: " + "; ".join(parts))
    expect(sum(have.values()) == sum(want.values()),
           f"{CONFIG_TEXT[name]}: {sum(have.values())} trainable values, expected {sum(want.values())}")


@points(2)
def test_returns_peft_model(probes):
    got, _ = _built(probes, "defaults")
    expect(got["is_peft"], f"build_lora_model should return a peft.PeftModel; got {got['type']}")


@points(4)
def test_trainable_defaults(probes):
    got, ref = _built(probes, "defaults")
    _compare_trainable("defaults", got, ref)


@points(3)
def test_trainable_other_settings(probes):
    for name in ("r4_value", "r8_key"):
        got, ref = _built(probes, name)
        _compare_trainable(name, got, ref)


@points(3)
def test_rank_alpha_dropout(probes):
    for name in CONFIG_TEXT:
        got, ref = _built(probes, name)
        for layer, adapters in ref["layers"].items():
            have = got["layers"].get(layer)
            if have is None:
                fail(f"{CONFIG_TEXT[name]}: no LoRA layer at {layer}")
            for adapter, want in adapters.items():
                h = have.get(adapter) or next(iter(have.values()), {})
                for field, label in (("r", "rank r"), ("scaling", "scaling lora_alpha / r"), ("dropout", "lora_dropout")):
                    if h.get(field) != want[field]:
                        fail(f"{CONFIG_TEXT[name]}: {layer}: {label} is {h.get(field)}, expected {want[field]}")


@points(2)
def test_everything_else_frozen(probes):
    got, _ = _built(probes, "defaults")
    wrong = [n for n, _, grad in got["params"] if grad and "lora_" not in n]
    expect(not wrong, f"{len(wrong)} parameters outside LoRA are trainable (e.g. {wrong[0] if wrong else ''})")


@points(1)
def test_no_bias_training(probes):
    for name in CONFIG_TEXT:
        got, _ = _built(probes, name)
        wrong = [n for n, _, grad in got["params"] if grad and n.endswith(".bias")]
        expect(not wrong, f"{CONFIG_TEXT[name]}: {len(wrong)} bias parameters are trainable (e.g. {wrong[0] if wrong else ''});"
                          " use bias='none'")
