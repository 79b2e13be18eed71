"""Probes of exercise "dataset": items, splits and loaders."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import torch

from grader.probes import common
from grader.probes.common import attempt
from grader.probes.errors import ProbeError
from grader.probes.registry import probe
from grader.worker import contract
from grader.worker.contract import (
    Collated,
    ItemDescription,
    ItemsResult,
    LearnerError,
    LoaderPass,
    Loaders,
    LoadersResult,
    MessageData,
    Split,
    SplitsResult,
    ValueDescription,
)

N_ITEMS = 6


def _describe_item(item) -> ItemDescription:
    """An item as served: a Mapping (a dict, or the processor's BatchFeature as the original lab returns it) by
    its keys and each value's shape and dtype (or type), another value by its type only."""
    if not isinstance(item, Mapping):
        return ItemDescription(type=type(item).__name__)
    fields = {}
    for key, value in item.items():
        if isinstance(value, torch.Tensor):
            fields[str(key)] = ValueDescription(
                "Tensor", list(value.shape), str(value.dtype).replace("torch.", "")
            )
        else:
            fields[str(key)] = ValueDescription(type(value).__name__)
    return ItemDescription(
        keys=sorted(map(str, item.keys())), type=type(item).__name__, fields=fields
    )


@probe(contract.DATASET_ITEMS, "dataset")
def items(
    ctx, question_max_length=None, answer_max_length=None
) -> ItemsResult | tuple[ItemsResult, dict]:
    module = ctx.impl("dataset")
    records = common.records(ctx)[:N_ITEMS]
    processor = common.processor()
    kwargs = {}
    if question_max_length is not None:
        kwargs["question_max_length"] = question_max_length
    if answer_max_length is not None:
        kwargs["answer_max_length"] = answer_max_length
    ctx.seed(0)
    ok, dataset = attempt(
        lambda: module.VQADataset(records, processor, str(common.image_dir(ctx)), **kwargs), ctx
    )
    if not ok:
        return ItemsResult(error=dataset)
    ok, length = attempt(lambda: len(dataset), ctx)
    tensors = {}
    described = []
    got = []
    for idx in range(N_ITEMS):
        ok_item, item = attempt(lambda: dataset[idx], ctx)  # noqa: B023 - called at once
        if not ok_item:
            described.append(ItemDescription(error=item))
            continue
        described.append(_describe_item(item))
        if isinstance(item, Mapping):
            got.append(item)
            for key, value in item.items():
                if isinstance(value, torch.Tensor) and value.numel() < 1_000_000:
                    tensors[f"item{idx}.{key}"] = value
    return ItemsResult(
        pids=[r["pid"] for r in records],
        length=length if ok else None,
        length_error=None if ok else length,
        items=described,
        collate=_collate(got, ctx),
    ), tensors


def _collate(items: list, ctx) -> Collated | None:
    """The first items collated as the lab's DataLoader does (None with fewer than two items to collate)."""
    if len(items) < 2:
        return None
    ok, batch = attempt(lambda: torch.utils.data.default_collate(items[:4]), ctx)
    if not ok:
        return Collated(error=batch)
    if not isinstance(batch, Mapping):
        return Collated(
            error=LearnerError(
                "error",
                "TypeError",
                "the collated batch is not a dict",
                None,
                MessageData("probe.collated_not_dict"),
            )
        )
    return Collated(
        shapes={str(k): list(v.shape) for k, v in batch.items() if isinstance(v, torch.Tensor)}
    )


def _split_ids(value):
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ProbeError(
            "probe.splits_not_pair",
            f"load_splits must return (train, valid); it returned {type(value).__name__}",
            type=type(value).__name__,
        )
    out = []
    for part in value:
        if (
            isinstance(part, (str, bytes, Mapping))
            or not hasattr(part, "__iter__")
            or hasattr(part, "columns")
        ):
            raise ProbeError(
                "probe.records_not_list",
                f"load_splits must return (train, valid) lists of records; one part is a {type(part).__name__}",
                type=type(part).__name__,
            )
        ids = []
        for record in list(part):
            if not isinstance(record, Mapping) or "pid" not in record:
                raise ProbeError(
                    "probe.record_not_dict",
                    f"each record must be a dict with question, answer and pid; got {record!r:.80}",
                    record=f"{record!r:.80}",
                )
            ids.append(str(record["pid"]))
        out.append(ids)
    return out


@probe(contract.DATASET_SPLITS, "dataset")
def splits(ctx) -> SplitsResult:
    module = ctx.impl("dataset")
    data_dir = str(common.data_dir(ctx))
    seeds = iter(range(1000, 2000))

    def split(**kwargs) -> Split:
        ctx.seed(next(seeds))  # a different global state each call: the split must not depend on it
        ok, value = attempt(lambda: _split_ids(module.load_splits(data_dir, **kwargs)), ctx)
        return Split(train=value[0], valid=value[1]) if ok else Split(error=value)

    # keyword arguments are evaluated in order: the calls run in this order, each under its own global seed
    return SplitsResult(
        pids=[str(r["pid"]) for r in common.records(ctx)],
        default=split(),
        quarter_42=split(valid_fraction=0.25, seed=42),
        quarter_42_again=split(valid_fraction=0.25, seed=42),
        quarter_7=split(valid_fraction=0.25, seed=7),
        # 24 records: 3.6 rounds to 4 (int() gives 3), 0.24 to 0 (at least one, so 1)
        fraction_015=split(valid_fraction=0.15, seed=42),
        fraction_001=split(valid_fraction=0.01, seed=42),
    )


N_LOADER_TRAIN, N_LOADER_VALID = 16, 8  # multiples of the batch size: drop_last changes nothing


class VQADataset(torch.utils.data.Dataset):
    """Stands in for the learner's VQADataset when theirs cannot serve items of the contract's form (so a
    broken ``__getitem__`` costs nothing in the loader checks): the reference's items for the same records,
    and every public attribute a VQADataset has, so a learner's collate function that reads
    ``dataset.processor`` works alike. Named as the lab names it: an error message never names a grader object."""

    def __init__(
        self,
        records,
        processor,
        image_dir,
        items: dict,
        question_max_length=32,
        answer_max_length=8,
    ):
        self.records = list(records)
        self.processor = processor
        self.image_dir = str(image_dir)
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length
        self._items = items

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        return {key: value[idx].clone() for key, value in self._items.items()}


def _pixel_key(pixels) -> str:
    return hashlib.sha1(pixels.detach().float().cpu().contiguous().numpy().tobytes()).hexdigest()


def _serves_contract_items(dataset, n: int) -> bool:
    """Whether ``dataset`` serves ``n`` Mappings with the four keys, question and answer padded to the default
    lengths and distinct images (the loader probe tells items apart by their pixels)."""
    seen = set()
    for idx in range(n):
        item = dataset[idx]
        if not isinstance(item, Mapping) or not all(
            isinstance(item.get(k), torch.Tensor) for k in common.BATCH_KEYS
        ):
            return False
        if (
            list(item["input_ids"].shape) != [32]
            or list(item["attention_mask"].shape) != [32]
            or list(item["labels"].shape) != [8]
            or item["pixel_values"].dim() != 3
        ):
            return False
        seen.add(_pixel_key(item["pixel_values"]))
    return len(seen) == n and len(dataset) == n


def _loader_datasets(ctx, module):
    """What the lab passes build_dataloaders: the learner's own VQADataset over fixture records when it serves
    items of the contract's form, else the stand-in; and each item's index by its pixels."""
    records, processor, image_dir = common.records(ctx), common.processor(), common.image_dir(ctx)
    parts = (
        (records[:N_LOADER_TRAIN], common.TRAIN_ITEMS),
        (records[N_LOADER_TRAIN : N_LOADER_TRAIN + N_LOADER_VALID], common.VALID_ITEMS),
    )
    try:
        datasets = [module.VQADataset(part, processor, str(image_dir)) for part, _ in parts]
        own = all(_serves_contract_items(ds, len(part)) for ds, (part, _) in zip(datasets, parts))
    except Exception:  # noqa: BLE001 - a broken VQADataset is graded by the item checks, not here
        own = False
    if not own:
        datasets = [
            VQADataset(part, processor, image_dir, common.load_items(ctx, name))
            for part, name in parts
        ]
    index = {}
    for offset, ds in ((0, datasets[0]), (100, datasets[1])):
        for idx in range(len(ds)):
            index[_pixel_key(ds[idx]["pixel_values"])] = offset + idx
    return datasets, index, own


def _order(loader, index) -> LoaderPass:
    """The items a loader yields, in order (told apart by their pixels), and each batch's tensor shapes."""
    order: list[int] = []
    shapes: list[dict[str, list[int]]] = []
    for batch in loader:
        if not isinstance(batch, Mapping) or not isinstance(
            batch.get("pixel_values"), torch.Tensor
        ):
            raise ProbeError(
                "probe.batch_not_dict",
                f"a batch should be a dict of tensors, got {type(batch).__name__}",
                type=type(batch).__name__,
            )
        order.extend(index.get(_pixel_key(pixels), -1) for pixels in batch["pixel_values"])
        shapes.append(
            {
                k: list(batch[k].shape)
                for k in common.BATCH_KEYS
                if isinstance(batch.get(k), torch.Tensor)
            }
        )
    return LoaderPass(order, shapes)


@probe(contract.DATASET_LOADERS, "dataset")
def loaders(ctx) -> LoadersResult:
    module = ctx.impl("dataset")
    (train_set, valid_set), index, own = _loader_datasets(ctx, module)

    def build(seed: int, global_seed: int) -> Loaders:
        def run():
            torch.manual_seed(global_seed)
            train, valid = module.build_dataloaders(
                train_set, valid_set, batch_size=4, num_workers=0, seed=seed
            )
            first = _order(train, index)
            return Loaders(
                train=first, train_again=_order(train, index), valid=_order(valid, index)
            )

        ok, value = attempt(run, ctx)
        return value if ok else Loaders(error=value)

    return LoadersResult(
        own_dataset=own,
        train_size=len(train_set),
        valid_size=len(valid_set),
        seed0=build(0, 123),
        seed0_again=build(0, 456),
        seed1=build(1, 123),
    )
