"""What the contract leaves free costs nothing: the reference with one harmless addition (the habits of
published BLIP fine-tuning code that no TODO sentence forbids) still scores 100/100."""

from __future__ import annotations

import pytest

from grader.judge.grade import Grader

from mutants import copy_impl
from paths import CACHE

pytestmark = pytest.mark.slow  # grades many submissions end to end: `pytest -m "not slow"` skips it


PLAIN_STEP = "            loss.backward()\n            optimizer.step()"
SCALER_STEP = "            scaler.scale(loss).backward()\n            scaler.step(optimizer)"
ITEM = (
    '        item = {key: value.squeeze(0) for key, value in encoding.items() if key != "token_type_ids"}\n'
    '        item["labels"] = labels.squeeze(0)\n        return item'
)
TRAIN_LOADER = (
    "        train_dataset, batch_size=batch_size, shuffle=True, num_workers=num_workers,"
    " generator=generator\n"
)

# (id, {file: [(old, new), ...]})
ADDITIONS = [
    (
        "clip_grad_norm",
        {
            "train.py": [
                (
                    PLAIN_STEP,
                    "            loss.backward()\n"
                    "            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.05)\n"
                    "            optimizer.step()",
                ),
                (
                    SCALER_STEP,
                    "            scaler.scale(loss).backward()\n            scaler.unscale_(optimizer)\n"
                    "            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.05)\n"
                    "            scaler.step(optimizer)",
                ),
            ]
        },
    ),
    (
        "weight_decay_and_logging",
        {
            "train.py": [
                (
                    "torch.optim.AdamW(params, lr=lr)",
                    "torch.optim.AdamW(params, lr=lr, weight_decay=0.01)",
                ),
                (
                    "        history.append(\n",
                    "        print(f'epoch {epoch}: train {train_loss:.4f} valid {valid_loss:.4f}')\n"
                    "        history.append(\n",
                ),
            ]
        },
    ),
    (
        "early_stopping_patience_2",
        {
            "train.py": [
                (
                    '    best = float("inf")\n',
                    '    best = float("inf")\n    patience, bad_epochs = 2, 0\n',
                ),
                (
                    "            model.save_pretrained(out_dir)\n",
                    "            model.save_pretrained(out_dir)\n            bad_epochs = 0\n        else:\n"
                    "            bad_epochs += 1\n",
                ),
                (
                    "    return history\n",
                    "        if bad_epochs >= patience:\n            break\n    return history\n",
                ),
            ]
        },
    ),
    (
        "batch_pop",
        {
            "train.py": [
                (
                    "        inputs = {key: batch[key].to(device) for key in BATCH_KEYS}\n"
                    "        with _autocast(device, amp_dtype):\n"
                    "            loss = model(**inputs).loss",
                    '        batch = dict(batch)\n        labels = batch.pop("labels").to(device)\n'
                    '        inputs = {key: batch[key].to(device) for key in BATCH_KEYS if key != "labels"}\n'
                    "        with _autocast(device, amp_dtype):\n"
                    "            loss = model(**inputs, labels=labels).loss",
                )
            ]
        },
    ),
    (
        "batch_feature_item",
        {
            "dataset.py": [
                (
                    ITEM,
                    "        for key in list(encoding.keys()):\n            encoding[key] = encoding[key].squeeze(0)\n"
                    '        encoding["labels"] = labels.squeeze(0)\n        return encoding',
                )
            ]
        },
    ),
    (
        "collate_fn_reads_processor_drop_last_pin_memory",
        {
            "dataset.py": [
                (
                    TRAIN_LOADER,
                    "        train_dataset, batch_size=batch_size, shuffle=True, num_workers=num_workers, "
                    "generator=generator,\n"
                    "        collate_fn=_collate(train_dataset), drop_last=True, pin_memory=False,\n"
                    "        persistent_workers=num_workers > 0,\n",
                ),
                (
                    "def build_dataloaders(",
                    "def _collate(dataset):\n"
                    "    pad_id = dataset.processor.tokenizer.pad_token_id\n\n"
                    "    def collate(items):\n"
                    "        batch = torch.utils.data.default_collate(items)\n"
                    '        batch["labels"] = batch["labels"].masked_fill(batch["labels"] == -1, pad_id)\n'
                    "        return batch\n\n"
                    "    return collate\n\n\n"
                    "def build_dataloaders(",
                ),
            ]
        },
    ),
    (
        "extra_item_key",
        {
            "dataset.py": [
                (
                    ITEM,
                    ITEM.replace(
                        "        return item",
                        '        item["pid"] = torch.tensor(int(record["pid"]))\n        return item',
                    ),
                )
            ]
        },
    ),
]


@pytest.fixture(scope="module")
def grader():
    with Grader(sandbox="none", cache_dir=CACHE, timeout=60) as g:
        yield g


@pytest.mark.parametrize("addition", ADDITIONS, ids=[a[0] for a in ADDITIONS])
def test_harmless_addition_keeps_full_marks(addition, grader, tmp_path):
    name, edits = addition
    result = grader.grade(copy_impl("solutions", tmp_path / name, edits))
    lost = [(c.name, c.message) for c in result.checks() if not c.passed]
    assert not lost and result.score == 100, f"{name}: {lost}"
