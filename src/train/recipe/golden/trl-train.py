# LoRA Studio run as a TRL recipe, written for trl>=0.20,<0.26, peft>=0.15; see README.md.
# Launch: accelerate launch --config_file accelerate.yaml train.py
import os

from datasets import load_dataset
from peft import LoraConfig
from trl import SFTConfig, SFTTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"

data = load_dataset("json", data_files={"train": os.path.join(HERE, "data/train.jsonl"), "validation": os.path.join(HERE, "data/val.jsonl")})

peft_config = LoraConfig(
    task_type="CAUSAL_LM",
    bias="none",
    r=16,
    lora_alpha=32,
    lora_dropout=0.05,
    use_rslora=True,
    target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
)

args = SFTConfig(
    output_dir=os.path.join(HERE, "outputs"),
    model_init_kwargs={"revision": "12fd25f77366fa6b3b4b768ec3050bf629380bac", "attn_implementation": "flash_attention_2", "torch_dtype": "float32"},
    learning_rate=0.0001,
    warmup_steps=20,
    lr_scheduler_type="linear",
    num_train_epochs=3,
    max_steps=-1,
    per_device_train_batch_size=2,
    per_device_eval_batch_size=2,
    gradient_accumulation_steps=2,
    max_length=1024,
    eval_strategy="steps",
    eval_steps=10,
    save_strategy="steps",
    save_steps=50,
    seed=1234,
    data_seed=1234,
    completion_only_loss=True,
    assistant_only_loss=False,
    packing=True,
    packing_strategy="bfd",
    padding_free=True,
    max_grad_norm=0.5,
    weight_decay=0.01,
    bf16=False,
    fp16=False,
    tf32=False,
    gradient_checkpointing=True,
    optim="adamw_torch",
    adam_beta1=0.9,
    adam_beta2=0.999,
    adam_epsilon=1e-8,
    logging_steps=1,
)

trainer = SFTTrainer(
    model=MODEL,
    args=args,
    train_dataset=data["train"],
    eval_dataset=data["validation"],
    peft_config=peft_config,
)
trainer.train()
trainer.save_model(args.output_dir)
