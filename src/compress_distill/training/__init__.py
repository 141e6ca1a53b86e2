"""Students' training: supervised fine-tuning (full or LoRA) on a prompt/completion training set.

One run trains one student on one training set with TRL's SFTTrainer. Read `run.train` for the
path of one run; the rest are its parts:

    settings     TrainSettings (hyperparameters) and TrainJob (one run's arguments), with checks
    run          train(job): resume, train, save, record, publish the output folder
    trainer      the glue around TRL: SFT config, dataset, token counts, saving and loading models
    checkpoints  the checkpoint folder: what its checkpoints were trained on, the latest complete
                 one, and the wall time of every attempt
    records      loss.csv, peak memory, device, library versions, weights sha256
    launch       several processes: `accelerate launch` of `python -m compress_distill.training
                 --spec` (one per GPU, or DDP on the CPU)

Students' base models (built, pretrained or copied) are compress_distill.students.base.
"""

# Written beside a LoRA adapter: which base model (folder and weights sha256) it belongs to.
# Evaluation reads it to serve the adapter on its base.
BASE_MODEL_FILE = "base_model.json"
