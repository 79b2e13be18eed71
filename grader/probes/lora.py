"""Probe of exercise "lora": which parameters train, and how the LoRA layers are set up."""

from __future__ import annotations

from grader.probes import common
from grader.probes.common import attempt
from grader.probes.registry import probe
from grader.worker import contract
from grader.worker.contract import LoraLayer, LoraModel, LoraResult, Param


def _describe(model) -> LoraModel:
    from peft import PeftModel

    params = [
        Param(name, int(param.numel()), bool(param.requires_grad))
        for name, param in model.named_parameters()
    ]
    layers = {}
    for name, module in model.named_modules():
        if (
            hasattr(module, "lora_A")
            and hasattr(module, "scaling")
            and isinstance(module.scaling, dict)
        ):
            info = {}
            for adapter, scaling in module.scaling.items():
                dropout = module.lora_dropout[adapter] if adapter in module.lora_dropout else None
                info[adapter] = LoraLayer(
                    r=int(module.r.get(adapter, 0)) if isinstance(module.r, dict) else None,
                    scaling=float(scaling),
                    dropout=float(getattr(dropout, "p", 0.0)) if dropout is not None else None,
                )
            layers[name] = info
    return LoraModel(
        is_peft=isinstance(model, PeftModel),
        type=type(model).__name__,
        params=params,
        layers=layers,
        training=bool(getattr(model, "training", False)),
    )


@probe(contract.LORA_BUILD, "lora")
def build(ctx) -> LoraResult:
    module = ctx.impl("lora")

    def built(**kwargs) -> LoraModel:
        base = common.base_model()
        ctx.seed(0)
        ok, model = attempt(lambda: module.build_lora_model(base, **kwargs), ctx)
        if not ok:
            return LoraModel(error=model)
        ok, desc = attempt(lambda: _describe(model), ctx)
        return desc if ok else LoraModel(error=desc)

    return LoraResult(
        defaults=built(),
        r4_value=built(r=4, lora_alpha=8, lora_dropout=0.2, target_modules=("query", "value")),
        r8_key=built(r=8, lora_alpha=32, lora_dropout=0.0, target_modules=("key",)),
    )
