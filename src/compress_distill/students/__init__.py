"""Students: the small models that are fine-tuned on teacher traces, and what they start from.

    tokenizers   character-level and byte-level BPE tokenizers with the chat template, and a
                 student's tokenizer saved for the workflow (rule student_tokenizer)
    tiny_llama   a randomly initialised Llama, saved as an ordinary Hugging Face folder
    base         a student's base model (rule base_model): a tiny Llama built from its config and
                 briefly pretrained, or a pretrained checkpoint copied into the results
    demo_base    a tool, not a workflow stage: the recipe that built the demo's shipped student
                 base, data/students/tiny-arith (`make student-base`)

A student's config entry has `kind` from_config (built here) or pretrained (`model`: a hub id or a
local folder, resolved by compress_distill.local_models).
"""
