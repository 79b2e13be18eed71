import json, os

import torch
from PIL import Image
from tqdm import tqdm
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def load_for_inference(model_dir, device):
    processor = BlipProcessor.from_pretrained(model_dir)
    model = BlipForQuestionAnswering.from_pretrained(model_dir).to("cuda")
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    image = image.convert("RGB")

    # prepare inputs
    encoding = processor(image, question, return_tensors="pt").to("cuda:0", torch.float16)

    out = model.generate(**encoding)
    generated_text = processor.decode(out[0], skip_special_tokens=True)
    return generated_text


def predict_folder(model, processor, test_dir, device):
    # Create a list to store the results
    results = []

    # Iterate through each file in the test data directory
    samples = os.listdir(test_dir)
    for filename in tqdm(os.listdir(test_dir), desc="Processing"):
        sample_path = os.path.join(test_dir, filename)

        # Read the json file
        json_path = os.path.join(sample_path, "data.json")
        with open(json_path, "r") as json_file:
            data = json.load(json_file)
            question = data["question"]
            image_id = data["id"]

        # Read the corresponding image
        image_path = os.path.join(test_dir, f"{image_id}", "image.png")
        image = Image.open(image_path).convert("RGB")

        generated_text = answer_question(model, processor, image, question, device)
        results.append((image_id, generated_text))

    return dict(results)
