from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    # Let's define the LoraConfig
    config = LoraConfig(
        r=16,
        lora_alpha=16,
        lora_dropout=0.05,
        bias="none",
        target_modules=["query", "value"]
    )

    model = get_peft_model(model, config)
    model.print_trainable_parameters()
    return model
