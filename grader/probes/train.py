"""Probes of exercise "train": one epoch, evaluation and the whole fit loop.

Every probe starts from the reference-built LoRA model and the reference's batches, so a broken
dataset.py or lora.py costs nothing here.
"""

from __future__ import annotations

import dataclasses

import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from grader.probes import common, devices
from grader.probes.common import attempt
from grader.probes.plain import to_plain
from grader.probes.registry import probe
from grader.probes.spies import ForwardSpy, GradScalerCounter, SpyScaler, inner_blip
from grader.worker import contract
from grader.worker.contract import (
    CudaRun,
    EvaluateResult,
    FitResult,
    OneEpochResult,
    OptimizerCounts,
    OptimizerUse,
    ScalerCalls,
    Step,
)

FIT_EPOCHS = 4
FIT_LR = 3e-2
FIT_GAMMA = 0.5
# Added to the loss of each validation forward in fit, per epoch: the validation losses then improve at
# epochs 1 and 2 and not at 3 and 4 (epoch 4 beats epoch 3 but not the best) by construction, on any CPU.
# Training moves the true validation loss by well under 1 over the four epochs on this fixture (measured:
# 10.56, 10.90, 11.11, 11.05), against gaps of 4 between the offsets;
# tests/test_grader/judge/test_grader_fixtures.py asserts the margin. Saving every epoch, comparing with the
# previous epoch only, or never updating the best give other flags.
FIT_VALID_OFFSETS = (0.0, -4.0, 4.0, 0.0)
SEED = 0  # each forward call n re-seeds the RNG with SEED + n (see ForwardSpy)


class _CountingOptimizer:
    """Counts zero_grad and step calls on a real optimizer, without changing what it does."""

    def __init__(self, optimizer, model):
        self.counts = {"zero_grad": 0, "step": 0, "model_zero_grad": 0}
        original_zero, original_step = optimizer.zero_grad, optimizer.step
        counts = self.counts

        def zero_grad(*args, **kwargs):
            counts["zero_grad"] += 1
            return original_zero(*args, **kwargs)

        def step(*args, **kwargs):
            counts["step"] += 1
            return original_step(*args, **kwargs)

        optimizer.zero_grad = zero_grad
        optimizer.step = step
        original_model_zero = model.zero_grad

        def model_zero_grad(*args, **kwargs):
            counts["model_zero_grad"] += 1
            return original_model_zero(*args, **kwargs)

        model.zero_grad = model_zero_grad


class _StepAudit:
    """What reaches ``optimizer.step()``: after each forward, the gradient of that forward's loss with respect to
    the trainable weights (by autograd, keeping the graph for the learner's own backward); at each step, the
    gradients held then, compared with it. A correct step holds exactly that gradient, or a positive multiple
    of at most 1 of it (``clip_grad_norm_`` rescales the whole gradient): what is judged is the step, not the
    weights after an epoch, which any harmless addition moves."""

    def __init__(self, model, optimizer, params):
        self.params = list(params)
        self.expected = None
        self.forwards = 0
        self.steps: list[Step] = []
        self._handles = [
            inner_blip(model).register_forward_hook(self._post, with_kwargs=True),
            optimizer.register_step_pre_hook(self._pre_step),
        ]

    def _flat(self, tensors) -> torch.Tensor:
        return torch.cat(
            [
                (t if t is not None else torch.zeros_like(p)).detach().reshape(-1).double()
                for t, p in zip(tensors, self.params)
            ]
        )

    def _post(self, module, args, kwargs, output):
        self.forwards += 1
        loss = getattr(output, "loss", None)
        self.expected = None
        if isinstance(loss, torch.Tensor) and loss.requires_grad and loss.dim() == 0:
            grads = torch.autograd.grad(loss, self.params, retain_graph=True, allow_unused=True)
            self.expected = self._flat(grads)
        return output

    def _pre_step(self, optimizer, args, kwargs):
        have = self._flat([p.grad for p in self.params])
        step = Step(forward=self.forwards, norm=float(have.norm()))
        if self.expected is not None:
            size = float(self.expected @ self.expected)
            scale = float(have @ self.expected) / size if size else 0.0
            residual = float((have - scale * self.expected).norm()) / size**0.5 if size else None
            step = dataclasses.replace(step, scale=scale, residual=residual)
        self.steps.append(step)

    def remove(self):
        for handle in self._handles:
            handle.remove()


def _device(name):
    """(torch.device, None) for the probe's device, or (None, why) when CUDA was asked for and is not there."""
    if name == "cuda":
        return devices.cuda_device()
    return torch.device(name), None


@probe(contract.TRAIN_ONE_EPOCH, "train")
def one_epoch(ctx, amp=False, device="cpu") -> OneEpochResult:
    on_cuda = device == "cuda"
    device, why = _device(device)
    if device is None:
        return OneEpochResult(cuda=CudaRun(available=False, reason=why))
    module = ctx.impl("train")
    model = common.init_model(ctx).to(device)
    loader = common.loader(ctx, common.TRAIN_ITEMS)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=common.LR_TRAIN)
    counter = _CountingOptimizer(optimizer, model)
    spy = ForwardSpy(model, seed=SEED)
    # the exact gradients: without autocast
    audit = None if amp else _StepAudit(model, optimizer, params)
    before = devices.snapshot(model)
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    kwargs = {}
    scaler = None
    if amp and on_cuda:  # the contract on CUDA: fp16 autocast and a real GradScaler (counted)
        scaler = SpyScaler(devices.grad_scaler(device))
        kwargs = {"scaler": scaler, "amp_dtype": torch.float16}
    elif amp:
        scaler = SpyScaler()
        kwargs = {"scaler": scaler, "amp_dtype": torch.bfloat16}
    ctx.seed(0)
    ok, value = attempt(
        lambda: module.train_one_epoch(model, loader, optimizer, device, **kwargs), ctx
    )
    spy.remove()
    if audit is not None:
        audit.remove()
    return OneEpochResult(
        returned=to_plain(value) if ok else None,
        error=None if ok else value,
        calls=spy.calls,
        steps=audit.steps if audit is not None else None,
        counts=OptimizerCounts(**counter.counts),
        scaler=scaler.used() if scaler else None,
        frozen_changed=devices.changed(before, model, frozen)[:20],
        batches=len(loader),
        amp_dtype=str(kwargs["amp_dtype"]).replace("torch.", "") if amp else None,
        cuda=CudaRun(available=True, device=device.type) if on_cuda else None,
    )


@probe(contract.TRAIN_EVALUATE, "train")
def evaluate(ctx, amp=False) -> EvaluateResult:
    module = ctx.impl("train")
    model = common.init_model(ctx)
    model.train()  # evaluate must switch to eval mode itself
    loader = common.loader(ctx, common.VALID_ITEMS)
    spy = ForwardSpy(model, seed=SEED)
    before = devices.snapshot(model)
    kwargs = {"amp_dtype": torch.bfloat16} if amp else {}
    ctx.seed(0)
    ok, value = attempt(lambda: module.evaluate(model, loader, torch.device("cpu"), **kwargs), ctx)
    spy.remove()
    grads = [name for name, p in model.named_parameters() if p.grad is not None]
    return EvaluateResult(
        returned=to_plain(value) if ok else None,
        error=None if ok else value,
        calls=spy.calls,
        changed=devices.changed(before, model)[:20],
        grads=grads[:20],
        batches=len(loader),
    )


class _EpochLoader(torch.utils.data.DataLoader):
    """fit's validation loader: pass k calls ``on_pass(k)`` first, then labels the spy's stage and sets the
    pass's loss offset while it serves the batches, so the probe knows which forward belongs to which epoch."""

    def __init__(self, tensors: dict, spy: ForwardSpy, on_pass, offsets):
        self._spy = spy
        self._on_pass = on_pass
        self._offsets = offsets
        self.passes = 0
        super().__init__(common.ItemsDataset(tensors), batch_size=4, shuffle=False)

    def __iter__(self):
        k = self.passes
        self.passes += 1
        self._on_pass(k)
        try:
            for batch in super().__iter__():
                self._spy.stage = f"valid{k + 1}"
                self._spy.loss_offset = self._offsets[k] if k < len(self._offsets) else 0.0
                yield batch
        finally:
            self._spy.loss_offset = 0.0
            self._spy.stage = f"train{k + 2}"


def _adapter_name(name: str) -> str:
    """A trainable parameter's name as save_pretrained writes it (without the adapter's name)."""
    return name.replace(".default.", ".")


@probe(contract.TRAIN_FIT, "train")
def fit(ctx, device="cpu") -> FitResult | tuple[FitResult, dict]:
    from safetensors.torch import load_file

    on_cuda = device == "cuda"
    device, why = _device(device)
    if device is None:
        return FitResult(cuda=CudaRun(available=False, reason=why))
    module = ctx.impl("train")
    model = common.init_model(ctx).to(device)
    train_loader = common.loader(ctx, common.TRAIN_ITEMS)
    spy = ForwardSpy(model, seed=SEED)
    spy.stage = "train1"
    tensors = {}

    def on_pass(k):  # the weights each validation pass sees: what a save in that epoch should write
        if k < FIT_EPOCHS:
            for name, p in model.named_parameters():
                if p.requires_grad:
                    tensors[f"epoch{k + 1}.{_adapter_name(name)}"] = p.detach().float().clone()

    valid_loader = _EpochLoader(
        common.load_items(ctx, common.VALID_ITEMS), spy, on_pass, FIT_VALID_OFFSETS
    )
    out_dir = ctx.fresh_dir(common.FIT_OUT)
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    trainable_ids = {id(p) for p in model.parameters() if p.requires_grad}
    before = devices.snapshot(model)
    optimizers: dict[int, dict] = {}  # by id: what each optimizer that stepped was, and did

    def step_hook(optimizer, args, kwargs):
        info = optimizers.setdefault(
            id(optimizer),
            {
                "type": type(optimizer).__name__,
                "params": 0,
                "frozen_params": 0,
                "steps": 0,
                "lrs": [],
            },
        )
        params = [p for group in optimizer.param_groups for p in group["params"]]
        info["params"] = len(params)
        info["frozen_params"] = sum(1 for p in params if id(p) not in trainable_ids)
        info["steps"] += 1
        lr = optimizer.param_groups[0].get("lr")
        if not info["lrs"] or info["lrs"][-1] != lr:
            info["lrs"].append(float(lr) if isinstance(lr, (int, float)) else to_plain(lr))

    saves = []
    original_save = model.save_pretrained

    def save_pretrained(*args, **kwargs):
        saves.append(spy.stage)
        return original_save(*args, **kwargs)

    model.save_pretrained = save_pretrained
    handle = register_optimizer_step_pre_hook(step_hook)
    scalers = GradScalerCounter()
    ctx.seed(0)
    try:
        with scalers:
            ok, value = attempt(
                lambda: module.fit(
                    model,
                    train_loader,
                    valid_loader,
                    str(out_dir),
                    device,
                    epochs=FIT_EPOCHS,
                    lr=FIT_LR,
                    gamma=FIT_GAMMA,
                ),
                ctx,
            )
    finally:
        handle.remove()
        spy.remove()
    saved_files = sorted(p.name for p in out_dir.iterdir()) if out_dir.is_dir() else []
    adapter = out_dir / "adapter_model.safetensors"
    if adapter.is_file():
        for key, tensor in load_file(str(adapter)).items():
            tensors[f"saved.{key}"] = tensor.float()
    return FitResult(
        returned=to_plain(value) if ok else None,
        error=None if ok else value,
        optimizers=[OptimizerUse(**info) for info in optimizers.values()],
        save_stages=saves,
        saved_files=saved_files,
        frozen_changed=devices.changed(before, model, frozen)[:20],
        calls=spy.calls,
        grad_scaler=ScalerCalls(**scalers.counts),
        grad_scalers_created=scalers.created,
        cuda=CudaRun(available=True, device=device.type) if on_cuda else None,
    ), tensors
