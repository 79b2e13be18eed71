"""Probes of exercise "dataset": items, splits and loaders."""

from __future__ import annotations

import torch

from grader.probes import common
from grader.probes.common import attempt
from grader.probes.errors import ProbeError
from grader.probes.plain import to_plain
from grader.probes.registry import probe

N_ITEMS = 6


def _describe_item(item):
    if not isinstance(item, dict):
        return {"type": type(item).__name__}, {}
    desc, tensors = {}, {}
    for key, value in item.items():
        if isinstance(value, torch.Tensor):
            desc[str(key)] = {"shape": list(value.shape), "dtype": str(value.dtype).replace("torch.", "")}
        else:
            desc[str(key)] = {"type": type(value).__name__}
    return desc, tensors


@probe("dataset.items", "dataset")
def items(ctx, question_max_length=None, answer_max_length=None):
    module = ctx.impl("dataset")
    records = common.records(ctx)[:N_ITEMS]
    processor = common.processor()
    kwargs = {}
    if question_max_length is not None:
        kwargs["question_max_length"] = question_max_length
    if answer_max_length is not None:
        kwargs["answer_max_length"] = answer_max_length
    ctx.seed(0)
    ok, dataset = attempt(lambda: module.VQADataset(records, processor, str(common.image_dir(ctx)), **kwargs), ctx)
    if not ok:
        return {"init": {"error": dataset}}
    out = {"init": {"ok": True}, "pids": [r["pid"] for r in records]}
    ok, length = attempt(lambda: len(dataset), ctx)
    out["len"] = length if ok else {"error": length}
    tensors = {}
    described = []
    got = []
    for idx in range(N_ITEMS):
        ok, item = attempt(lambda: dataset[idx], ctx)
        if not ok:
            described.append({"error": item})
            continue
        desc, _ = _describe_item(item)
        described.append({"keys": sorted(map(str, item.keys())) if isinstance(item, dict) else None, "fields": desc})
        if isinstance(item, dict):
            got.append(item)
            for key, value in item.items():
                if isinstance(value, torch.Tensor) and value.numel() < 1_000_000:
                    tensors[f"item{idx}.{key}"] = value
    out["items"] = described
    if len(got) >= 2:
        ok, batch = attempt(lambda: torch.utils.data.default_collate(got[:4]), ctx)
        if ok and isinstance(batch, dict):
            out["collate"] = {"ok": True, "shapes": {str(k): list(v.shape) for k, v in batch.items()
                                                      if isinstance(v, torch.Tensor)}}
        else:
            out["collate"] = {"error": batch if not ok else {"message": "the collated batch is not a dict",
                                                             "msg": {"key": "probe.collated_not_dict", "fields": {}}}}
    return out, tensors


def _split_ids(value):
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ProbeError("probe.splits_not_pair",
                         f"load_splits must return (train, valid); it returned {type(value).__name__}",
                         type=type(value).__name__)
    out = []
    for part in value:
        ids = []
        for record in list(part):
            if not isinstance(record, dict) or "pid" not in record:
                raise ProbeError("probe.record_not_dict",
                                 f"each record must be a dict with question, answer and pid; got {record!r:.80}",
                                 record=f"{record!r:.80}")
            ids.append(str(record["pid"]))
        out.append(ids)
    return out


@probe("dataset.splits", "dataset")
def splits(ctx):
    module = ctx.impl("dataset")
    data_dir = str(common.data_dir(ctx))
    out = {"all": [str(r["pid"]) for r in common.records(ctx)], "calls": {}}
    calls = {
        "default": {},
        "quarter_42": {"valid_fraction": 0.25, "seed": 42},
        "quarter_42_again": {"valid_fraction": 0.25, "seed": 42},
        "quarter_7": {"valid_fraction": 0.25, "seed": 7},
        # 24 records: 3.6 rounds to 4 (int() gives 3), 0.24 to 0 (at least one, so 1)
        "fraction_015": {"valid_fraction": 0.15, "seed": 42},
        "fraction_001": {"valid_fraction": 0.01, "seed": 42},
    }
    for name, kwargs in calls.items():
        ctx.seed(1000 + len(out["calls"]))  # a different global state each call: the split must not depend on it
        ok, value = attempt(lambda: _split_ids(module.load_splits(data_dir, **kwargs)), ctx)
        out["calls"][name] = {"train": value[0], "valid": value[1]} if ok else {"error": value}
    return out


class _Indexed(torch.utils.data.Dataset):
    """Item i is recognisable in a batch: input_ids all equal to i."""

    def __init__(self, n, offset=0):
        self.n, self.offset = n, offset

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        i = idx + self.offset
        return {
            "input_ids": torch.full((5,), i, dtype=torch.long),
            "attention_mask": torch.ones(5, dtype=torch.long),
            "pixel_values": torch.full((3, 4, 4), float(i)),
            "labels": torch.full((3,), i, dtype=torch.long),
        }


def _order(loader):
    order, shapes = [], []
    for batch in loader:
        if not isinstance(batch, dict):
            raise ProbeError("probe.batch_not_dict", f"a batch should be a dict of tensors, got {type(batch).__name__}",
                             type=type(batch).__name__)
        order.extend(int(v) for v in batch["input_ids"][:, 0])
        shapes.append({k: list(v.shape) for k, v in batch.items() if isinstance(v, torch.Tensor)})
    return {"order": order, "shapes": shapes}


@probe("dataset.loaders", "dataset")
def loaders(ctx):
    module = ctx.impl("dataset")
    out = {}
    for name, seed, global_seed in (("seed0", 0, 123), ("seed0_again", 0, 456), ("seed1", 1, 123)):
        def run():
            torch.manual_seed(global_seed)
            train, valid = module.build_dataloaders(_Indexed(20), _Indexed(10, offset=100), batch_size=4,
                                                    num_workers=0, seed=seed)
            first = _order(train)
            return {"train": first, "train_again": _order(train), "valid": _order(valid)}

        ok, value = attempt(run, ctx)
        out[name] = value if ok else {"error": value}
    return to_plain(out)
