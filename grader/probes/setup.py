"""The fixtures every probe shares, written once by the reference worker into the artifacts folder.

Only the reference runs this; the submission's worker reads the result (read-only in the sandbox).
"""

from __future__ import annotations

import copy
import json

import torch

from grader.probes import common
from grader.probes.registry import probe
from grader.worker import contract
from grader.worker.contract import SetupResult

N_TRAIN = 24
N_TEST = 6


def _save_items(dataset, indices, path):
    from safetensors.torch import save_file

    items = [dataset[i] for i in indices]
    stacked = {
        key: torch.stack([item[key] for item in items]).contiguous() for key in common.BATCH_KEYS
    }
    save_file(stacked, str(path))


STRAY_FILES = {
    "README.txt": b"One folder per test item: data.json and image.png.\n",
    ".DS_Store": b"\x00\x00\x00\x01Bud1",
}


def _vary_test_folder(test_dir) -> None:
    """Make the test folder observe predict_folder's two sentences: one item's folder name differs from the
    id in its data.json (zero-padded, as exported ids can be), and files lie beside the item folders."""
    last = sorted(p for p in test_dir.iterdir() if p.is_dir())[-1]
    last.rename(test_dir / f"0{last.name}")
    for name, content in STRAY_FILES.items():
        (test_dir / name).write_bytes(content)


@probe(contract.SETUP, None)
def setup(ctx) -> SetupResult:
    from peft import LoraConfig, get_peft_model
    from transformers import BlipForQuestionAnswering

    from vqa import data

    art = ctx.artifacts
    art.mkdir(parents=True, exist_ok=True)
    data.generate_dataset(art / common.DATA, n_train=N_TRAIN, n_test=N_TEST, seed=0)
    _vary_test_folder(common.test_dir(ctx))
    tiny = common.tiny_dir()
    processor = common.processor()
    records = common.records(ctx)

    # items from the reference's dataset: the train probes' batches (isolation from the learner's dataset.py)
    dataset = ctx.impl("dataset").VQADataset(records, processor, common.image_dir(ctx))
    _save_items(dataset, range(0, 16), art / common.TRAIN_ITEMS)
    _save_items(dataset, range(16, 24), art / common.VALID_ITEMS)

    # the model the predict probes load: large random weights so answers depend on the image and the
    # question, and an adapter that changes them (a learner who drops the adapter gets other answers)
    gen = torch.Generator().manual_seed(1)
    base = BlipForQuestionAnswering.from_pretrained(tiny)
    with torch.no_grad():
        for _, param in base.named_parameters():
            if param.dim() == 2:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.5)
    base.save_pretrained(art / common.PREDICT_BASE)
    processor.save_pretrained(art / common.PREDICT_BASE)

    def lora_with_b(scale: float):
        """The seed's LoRA on the base, with B drawn at ``scale`` instead of zeros."""
        torch.manual_seed(0)
        model = get_peft_model(
            BlipForQuestionAnswering.from_pretrained(art / common.PREDICT_BASE),
            LoraConfig(
                r=16, lora_alpha=32, lora_dropout=0.05, bias="none", target_modules=["query", "key"]
            ),
        )
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.copy_(torch.randn(param.shape, generator=gen) * scale)
        return model

    # the LoRA model the train probes start from; B is non-zero so both LoRA matrices get gradients
    lora_with_b(0.02).save_pretrained(art / common.INIT_ADAPTER)
    # the adapter the predict checks load: strong enough that answers differ with and without it
    lora_with_b(1.0).save_pretrained(art / common.PREDICT_MODEL)
    # the saved processor normalises images unlike the base's: loading it from anywhere but the model
    # folder gives other pixel values, so other answers
    saved_processor = copy.deepcopy(processor)
    saved_processor.image_processor.image_mean = [0.2, 0.6, 0.9]
    saved_processor.image_processor.image_std = [0.2, 0.3, 0.4]
    saved_processor.save_pretrained(art / common.PREDICT_MODEL)
    (art / "fixtures.json").write_text(json.dumps({"n_train": N_TRAIN, "n_test": N_TEST}))
    return SetupResult(artifacts=str(art))
