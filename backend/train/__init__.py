"""The Train area: fine-tune a designer on curated DeepData, convert it to GGUF, quantise it, use it.

Qt-free. A run (:mod:`backend.train.runs`) is a recipe (:mod:`backend.train.recipe`), a base model
(:mod:`backend.train.base_model`) and a data selection (:mod:`backend.train.data`); every start or
resume of it is an ordinary job (:mod:`backend.train.launch`) running the built-in trainer
(:mod:`backend.train.builtin_trainer`, in the execution environment) or LLaMA-Factory
(:mod:`backend.train.llamafactory`). :mod:`backend.train.convert` and :mod:`backend.train.export`
turn the result into a quantised GGUF in Models with its lineage; :mod:`backend.train.evaluate`
scores base and trained model on the same DeepQA questions. torch/transformers are never imported
here: they run in the job's interpreter.
"""
