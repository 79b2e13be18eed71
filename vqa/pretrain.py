"""Pretraining ``tiny-pretrained``: full training of the tiny BLIP on source-style icons, seeded. The package
ships its result; ``vqa build-models`` reruns it.

It stands in for the large-scale pretraining of blip-vqa-base, so that the demo's LoRA step has a base
that already knows the task and only has to adapt to a new visual style, as in the real lab.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from vqa import data

STEPS = 1500
BATCH_SIZE = 16
LR = 3e-4
N_IMAGES = 2000


def encode_records(
    processor,
    records: list[dict],
    image_dir: Path,
    question_max_length: int = 32,
    answer_max_length: int = 8,
) -> dict:
    """Tensors for a list of records: questions, images and answers as the lab encodes them."""
    import torch
    from PIL import Image

    images = [Image.open(image_dir / str(r["pid"]) / "image.png").convert("RGB") for r in records]
    enc = processor(
        images=images,
        text=[r["question"] for r in records],
        padding="max_length",
        max_length=question_max_length,
        truncation=True,
        return_tensors="pt",
    )
    labels = processor.tokenizer(
        [r["answer"] for r in records],
        padding="max_length",
        max_length=answer_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids
    return {
        "input_ids": enc.input_ids,
        "attention_mask": enc.attention_mask,
        "pixel_values": enc.pixel_values.to(torch.float32),
        "labels": labels,
    }


def both_label_forms(tensors: dict, tokenizer) -> dict:
    """Half the answers in the seed's form ([CLS] … [SEP], pads scored), half in original BLIP's ([DEC] start,
    pads -100, explicit decoder inputs), so that fine-tuning in either form adapts the same behaviour."""
    labels = tensors["labels"]
    decoder_input_ids = labels.clone()
    blip = labels.clone()
    odd = (labels.new_tensor(range(len(labels))) % 2).bool()
    decoder_input_ids[odd, 0] = tokenizer.bos_token_id
    blip[:, 0] = tokenizer.bos_token_id
    blip[blip == tokenizer.pad_token_id] = -100
    mixed = labels.clone()
    mixed[odd] = blip[odd]
    return {**tensors, "labels": mixed, "decoder_input_ids": decoder_input_ids}


def pretrain_tiny(
    base_dir: str | Path,
    out_dir: str | Path,
    *,
    steps: int = STEPS,
    seed: int = 0,
    n_images: int = N_IMAGES,
    progress: bool = False,
) -> Path:
    """Train every weight of the model in ``base_dir`` on generated source-style icons; save to ``out_dir``."""
    import torch
    from transformers import BlipForQuestionAnswering, BlipProcessor

    from vqa.progress import bar as progress_bar

    torch.manual_seed(seed)
    model = BlipForQuestionAnswering.from_pretrained(base_dir)
    processor = BlipProcessor.from_pretrained(base_dir)
    with tempfile.TemporaryDirectory() as tmp:
        folder = data.generate_dataset(
            tmp, n_train=n_images, n_test=0, seed=seed + 1000, style="source"
        )
        records = data.read_records(folder)
        tensors = encode_records(processor, records, folder / data.TRAIN_IMAGES)
    tensors = both_label_forms(tensors, processor.tokenizer)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    bar = progress_bar(range(steps), desc="Pretraining tiny-pretrained", disable=not progress)
    for _ in bar:
        index = torch.randint(0, len(records), (BATCH_SIZE,), generator=generator)
        loss = model(**{k: v[index] for k, v in tensors.items()}).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return Path(out_dir)
