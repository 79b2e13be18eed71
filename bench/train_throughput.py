"""Samples/s of one LoRA training step: the reference's settings vs the seed's, on full-size BLIP (CPU).

The model is blip-vqa-base's architecture built from its default config with random weights (nothing is
downloaded). The reference pads questions to 32 tokens and passes the attention mask; the seed padded to
the tokenizer's 512 (``padding="max_length"`` without ``max_length``) and left the mask out in training.
Prints one ratio measured in this run; timings on shared machines are noisy, so no threshold is asserted.

    python bench/train_throughput.py [--steps 3] [--batch-size 2]
"""

from __future__ import annotations

import argparse
import time

import torch

QUESTION_TOKENS = 10  # "How many diamonds are there?" is about this long


def make_batch(batch_size: int, length: int, config, with_mask: bool) -> dict:
    generator = torch.Generator().manual_seed(0)
    ids = torch.zeros(batch_size, length, dtype=torch.long)
    ids[:, 0] = 101
    ids[:, 1:QUESTION_TOKENS] = torch.randint(
        1000, 30000, (batch_size, QUESTION_TOKENS - 1), generator=generator
    )
    ids[:, QUESTION_TOKENS] = 102
    size = config.vision_config.image_size
    batch = {
        "input_ids": ids,
        "pixel_values": torch.randn(batch_size, 3, size, size, generator=generator),
        "labels": torch.tensor([[101, 1017, 102, 0, 0, 0, 0, 0]] * batch_size),
    }
    if with_mask:
        batch["attention_mask"] = (ids != 0).long()
    return batch


def time_steps(model, batch: dict, steps: int) -> float:
    """Mean seconds per optimisation step after one warm-up step."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=4e-5)
    model.train()
    durations = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        durations.append(time.perf_counter() - start)
    return sum(durations[1:]) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=2)
    args = parser.parse_args()

    from transformers import BlipConfig, BlipForQuestionAnswering

    from vqa.impl import load_implementation
    from vqa.quiet import quiet_libraries

    quiet_libraries()
    torch.manual_seed(0)
    config = BlipConfig()  # blip-vqa-base's architecture
    model = load_implementation("solutions").lora.build_lora_model(BlipForQuestionAnswering(config))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    print(
        f"full-size BLIP VQA, random weights: {trainable:,} trainable of {total:,} parameters; "
        f"batch {args.batch_size}, {args.steps} timed steps each, {torch.get_num_threads()} threads"
    )
    ours = time_steps(model, make_batch(args.batch_size, 32, config, with_mask=True), args.steps)
    seed = time_steps(model, make_batch(args.batch_size, 512, config, with_mask=False), args.steps)
    print(
        f"reference (32 tokens, attention mask): {ours:.2f} s/step, {args.batch_size / ours:.2f} samples/s"
    )
    print(
        f"seed      (512 tokens, no mask):       {seed:.2f} s/step, {args.batch_size / seed:.2f} samples/s"
    )
    print(f"speed-up: {seed / ours:.2f}x")


if __name__ == "__main__":
    main()
