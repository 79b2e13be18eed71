"""Probe of exercise "lora": which parameters train, and how the LoRA layers are set up."""

from __future__ import annotations

from grader.probes import common
from grader.probes.common import attempt
from grader.probes.registry import probe

CONFIGS = {
    "defaults": {},
    "r4_value": {"r": 4, "lora_alpha": 8, "lora_dropout": 0.2, "target_modules": ("query", "value")},
    "r8_key": {"r": 8, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": ("key",)},
}


def _describe(model):
    from peft import PeftModel

    params = []
    for name, param in model.named_parameters():
        params.append([name, int(param.numel()), bool(param.requires_grad)])
    layers = {}
    for name, module in model.named_modules():
        if hasattr(module, "lora_A") and hasattr(module, "scaling") and isinstance(module.scaling, dict):
            info = {}
            for adapter, scaling in module.scaling.items():
                dropout = module.lora_dropout[adapter] if adapter in module.lora_dropout else None
                info[adapter] = {
                    "r": int(module.r.get(adapter, 0)) if isinstance(module.r, dict) else None,
                    "scaling": float(scaling),
                    "dropout": float(getattr(dropout, "p", 0.0)) if dropout is not None else None,
                }
            layers[name] = info
    return {
        "is_peft": isinstance(model, PeftModel),
        "type": type(model).__name__,
        "params": params,
        "layers": layers,
        "training": bool(getattr(model, "training", False)),
    }


@probe("lora.build", "lora")
def build(ctx):
    module = ctx.impl("lora")
    out = {}
    for name, kwargs in CONFIGS.items():
        base = common.base_model()
        ctx.seed(0)
        ok, model = attempt(lambda: module.build_lora_model(base, **kwargs), ctx)
        if not ok:
            out[name] = {"error": model}
            continue
        ok, desc = attempt(lambda: _describe(model), ctx)
        out[name] = desc if ok else {"error": desc}
    return out
