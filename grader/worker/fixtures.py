"""The fixtures' layout in the reference cache's ``artifacts`` folder (written by the reference's set-up probe,
read by every probe), and how a message shown to a learner names each place: by the argument it was passed
as (``<test_dir>/README.txt``), never by the grader's own paths. Both sides import it; no torch."""

from __future__ import annotations

DATA = "data"  # the generated data set, in the lab's layout
# as vqa.data.TRAIN_IMAGES, under DATA
TRAIN_IMAGES = "data/train_fill_in_blank/train_fill_in_blank"
TEST_DIR = "data/test_data/test_data"  # as vqa.data.TEST_DIR, under DATA
INIT_ADAPTER = "init-adapter"  # LoRA on PREDICT_BASE, B non-zero: the start of every train probe
# tiny-random with larger random weights: answers depend on image and question
PREDICT_BASE = "predict-base"
# an adapter on PREDICT_BASE + the processor: what the pipeline saves
PREDICT_MODEL = "predict-model"
TRAIN_ITEMS = "train-items.safetensors"
VALID_ITEMS = "valid-items.safetensors"
FIT_OUT = "fit-out"  # the stem of fit's out_dir in a worker's scratch folder

# places under the artifacts folder, most specific first, and the argument each is passed to learner code as
PLACES = (
    (TRAIN_IMAGES, "<image_dir>"),
    (TEST_DIR, "<test_dir>"),
    (DATA, "<data_dir>"),
    (PREDICT_MODEL, "<model_dir>"),
    ("", "<fixtures>"),
)
SCRATCH = "<scratch>"  # a worker's own folder (its HOME and working directory)
OUT_DIR = "<out_dir>"
