"""The ten DeepBench tasks (Table 1 of the DeepOnes paper) and the offline demo task, built in.

They are part of the backend, so ``deepones design --task demo-digits`` works with plugins disabled;
``plugins/deepbench_tasks.py`` registers them like any other task plugin.

Each task describes its dataset in detail from both sources the paper gives the models: a local
path layout (under ``$DEEPONES_DATA``, which each job gets: default ``<data dir>/datasets``) and a Hugging Face id. "mini" sets are
reduced to 10,000 training and 1,000 validation examples, as in the paper.
"""

from __future__ import annotations

from backend.pipeline.tasks import InputSpec, Requirements, Task

MINI_TRAIN, MINI_VALID = 10_000, 1_000
# Each DeepBench task uses the paper's limits: Requirements() defaults (48 GB GPU, 3,600 s training).
# Input specs (one example's shape, the default batch) are given where a model's input is one tensor;
# the others need --input-shape for a model check.


def _local(root: str, layout: str) -> str:
    return f"Local storage: $DEEPONES_DATA/{root}/ (the environment variable holds the folder) laid out as:\n{layout.rstrip()}"


DEEPBENCH_TASKS = [
    Task(
        name="image-classification", title="Image classification on CIFAR-10",
        task="image classification task on CIFAR-10 dataset", modality="image", dataset="CIFAR-10",
        metric="accuracy", direction="higher", hf_id="uoft-cs/cifar10", local_path="cifar10",
        input_spec=InputSpec(shape=(3, 32, 32), num_classes=10, batch_size=128, train_examples=50_000),
        dataset_details=_local("cifar10", """\
  train/<class name>/<index>.png   50,000 RGB images, 32x32, 10 classes (airplane, automobile, bird,
                                   cat, deer, dog, frog, horse, ship, truck), 5,000 per class
  test/<class name>/<index>.png    10,000 images, 1,000 per class (use as the validation set)""")
        + "\nHugging Face: load_dataset('uoft-cs/cifar10') with splits 'train' (50,000) and 'test' (10,000); "
        "columns 'img' (PIL image 32x32 RGB) and 'label' (int 0-9).",
    ),
    Task(
        name="text-to-image-generation", title="Text-to-image generation on MS COCO mini",
        task="text-to-image generation task on MS COCO mini dataset", modality="text, image",
        dataset="MS COCO mini", metric="FID", direction="lower", hf_id="phiyodr/coco2017",
        local_path="coco2017", train_size=MINI_TRAIN, valid_size=MINI_VALID,
        dataset_details=_local("coco2017", """\
  train2017/<12-digit image id>.jpg            RGB images of varying size
  val2017/<12-digit image id>.jpg
  annotations/captions_train2017.json          {"images": [{"id", "file_name", "width", "height"}],
  annotations/captions_val2017.json             "annotations": [{"image_id", "caption"}]} (5 captions per image)""")
        + "\nHugging Face: load_dataset('phiyodr/coco2017') with splits 'train' and 'validation'; columns "
        "'file_name', 'coco_url', 'captions' (list of str). Generate one 256x256 image per validation caption and "
        "compute FID against the validation images (e.g. torchmetrics FrechetInceptionDistance).",
    ),
    Task(
        name="image-captioning", title="Image captioning on MS COCO mini",
        task="image captioning task on MS COCO mini dataset", modality="image", dataset="MS COCO mini",
        metric="BLEU-4", direction="higher", hf_id="phiyodr/coco2017", local_path="coco2017",
        train_size=MINI_TRAIN, valid_size=MINI_VALID,
        dataset_details=_local("coco2017", """\
  train2017/<12-digit image id>.jpg
  val2017/<12-digit image id>.jpg
  annotations/captions_train2017.json          "annotations": [{"image_id", "caption"}], 5 captions per image
  annotations/captions_val2017.json""")
        + "\nHugging Face: load_dataset('phiyodr/coco2017'), splits 'train' and 'validation', columns "
        "'file_name', 'coco_url', 'captions'. Report corpus BLEU-4 (0-100) against all reference captions.",
    ),
    Task(
        name="object-detection", title="Object detection on MS COCO mini",
        task="object detection task on MS COCO mini dataset", modality="image", dataset="MS COCO mini",
        metric="box average precision (AP@[.50:.95])", direction="higher", hf_id="detection-datasets/coco",
        local_path="coco2017", train_size=MINI_TRAIN, valid_size=MINI_VALID,
        dataset_details=_local("coco2017", """\
  train2017/<12-digit image id>.jpg
  val2017/<12-digit image id>.jpg
  annotations/instances_train2017.json         COCO format: "images", "annotations" with "bbox"
  annotations/instances_val2017.json           [x, y, width, height], "category_id" (80 classes), "categories\"""")
        + "\nHugging Face: load_dataset('detection-datasets/coco'), splits 'train' and 'val', columns 'image', "
        "'objects' {'bbox' [x_min, y_min, x_max, y_max], 'category'}. Evaluate box AP with pycocotools COCOeval.",
    ),
    Task(
        name="face-recognition", title="Face recognition on LFW",
        task="face recognition task on LFW dataset", modality="image", dataset="LFW (Labeled Faces in the Wild)",
        metric="accuracy", direction="higher", hf_id="logasja/lfw", local_path="lfw",
        input_spec=InputSpec(shape=(3, 250, 250), batch_size=64, train_examples=2_200),
        dataset_details=_local("lfw", """\
  lfw/<Person_Name>/<Person_Name>_<4-digit n>.jpg   13,233 RGB images 250x250 of 5,749 people
  pairsDevTrain.txt   2,200 pairs: "name n1 n2" (same person) or "name1 n1 name2 n2" (different)
  pairsDevTest.txt    1,000 pairs in the same format (use as the validation set)""")
        + "\nHugging Face: load_dataset('logasja/lfw', 'pairs') with 'img_0', 'img_1', 'label' (1 = same person). "
        "Report face verification accuracy on the validation pairs.",
    ),
    Task(
        name="question-answering", title="Question answering on GLUE QNLI",
        task="question answering task on GLUE QNLI dataset", modality="text", dataset="GLUE QNLI",
        metric="accuracy", direction="higher", hf_id="nyu-mll/glue", local_path="glue/qnli",
        input_spec=InputSpec(shape=(128,), dtype="int64", vocab_size=30_522, num_classes=2, batch_size=32,
                             train_examples=104_743),
        dataset_details=_local("glue/qnli", """\
  train.tsv   104,743 rows: index<TAB>question<TAB>sentence<TAB>label (entailment | not_entailment)
  dev.tsv     5,463 rows, same columns (use as the validation set)""")
        + "\nHugging Face: load_dataset('nyu-mll/glue', 'qnli'), splits 'train' and 'validation'; columns "
        "'question', 'sentence', 'label' (0 = entailment, 1 = not_entailment).",
    ),
    Task(
        name="sentiment-classification", title="Sentiment classification on GLUE SST-2",
        task="sentiment classification task on GLUE SST-2 dataset", modality="text", dataset="GLUE SST-2",
        metric="accuracy", direction="higher", hf_id="nyu-mll/glue", local_path="glue/sst2",
        input_spec=InputSpec(shape=(128,), dtype="int64", vocab_size=30_522, num_classes=2, batch_size=32,
                             train_examples=67_349),
        dataset_details=_local("glue/sst2", """\
  train.tsv   67,349 rows: sentence<TAB>label (0 = negative, 1 = positive), with a header line
  dev.tsv     872 rows, same columns (use as the validation set)""")
        + "\nHugging Face: load_dataset('nyu-mll/glue', 'sst2'), splits 'train' and 'validation'; columns "
        "'sentence', 'label'.",
    ),
    Task(
        name="natural-language-inference", title="Natural language inference on GLUE MNLI",
        task="natural language inference task on GLUE MNLI dataset", modality="text", dataset="GLUE MNLI",
        metric="accuracy", direction="higher", hf_id="nyu-mll/glue", local_path="glue/mnli",
        input_spec=InputSpec(shape=(128,), dtype="int64", vocab_size=30_522, num_classes=3, batch_size=32,
                             train_examples=392_702),
        dataset_details=_local("glue/mnli", """\
  train.tsv                392,702 rows with columns including sentence1, sentence2, gold_label
                           (entailment | neutral | contradiction)
  dev_matched.tsv          9,815 rows, same columns (use as the validation set)
  dev_mismatched.tsv       9,832 rows""")
        + "\nHugging Face: load_dataset('nyu-mll/glue', 'mnli'), splits 'train' and 'validation_matched'; "
        "columns 'premise', 'hypothesis', 'label' (0 entailment, 1 neutral, 2 contradiction).",
    ),
    Task(
        name="recommendation", title="Recommendation on MovieLens-100K",
        task="recommendation system task (rating prediction) on MovieLens-100K dataset", modality="text",
        dataset="MovieLens-100K", metric="RMSE", direction="lower", hf_id="ashraq/movielens_ratings",
        local_path="ml-100k",
        dataset_details=_local("ml-100k", """\
  u1.base / u1.test   80,000 / 20,000 ratings: user id<TAB>item id<TAB>rating (1-5)<TAB>timestamp
                      (use u1.base to train and u1.test as the validation set)
  u.item              item id|title|release date|video release date|IMDb URL|19 genre flags
  u.user              user id|age|gender|occupation|zip code""")
        + "\nHugging Face: load_dataset('ashraq/movielens_ratings') with 'user_id', 'movie_id', 'rating', "
        "'title', 'genres'; hold out 20% as the validation set. Report RMSE of predicted ratings.",
    ),
    Task(
        name="speech-recognition", title="Speech recognition on LibriSpeech mini",
        task="speech recognition task on LibriSpeech mini dataset", modality="audio", dataset="LibriSpeech mini",
        metric="word error rate (WER)", direction="lower", hf_id="openslr/librispeech_asr",
        local_path="librispeech", train_size=MINI_TRAIN, valid_size=MINI_VALID,
        dataset_details=_local("librispeech", """\
  train-clean-100/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>.flac   16 kHz mono audio
  train-clean-100/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt          "<utterance id> TRANSCRIPT" per line
  dev-clean/...                                                              same layout (validation set)""")
        + "\nHugging Face: load_dataset('openslr/librispeech_asr', 'clean'), splits 'train.100' and 'validation'; "
        "columns 'audio' {'array', 'sampling_rate'}, 'text'. Report WER (0-1) with jiwer.",
    ),
]
DEMO_TASK = Task(
    name="demo-digits", title="Demo: digit classification on scikit-learn digits (offline, CPU)",
    task="image classification task on the scikit-learn digits dataset", modality="image",
    dataset="scikit-learn digits", metric="accuracy", direction="higher", offline=True,
    local_path="sklearn/datasets/data/digits.csv.gz",
    dataset_details="""\
Local storage: ships inside the installed scikit-learn package, no download needed:
  sklearn/datasets/data/digits.csv.gz   1,797 rows: 64 pixel values (0-16, an 8x8 grayscale image) + the label
Load it with: from sklearn.datasets import load_digits; X, y = load_digits(return_X_y=True)
  X: float array of shape (1797, 64), y: int array of shape (1797,), 10 classes (digits 0-9).
Split with sklearn.model_selection.train_test_split(X, y, test_size=0.2, random_state=0):
  1,437 training and 360 validation examples. Scale X by 1/16.
No Hugging Face download is needed (the task runs offline on CPU in about a minute).""",
    requirements=Requirements(
        gpu_memory="no GPU: CPU only, under 1 GB of memory",
        train_time="training must stop after 60 seconds, then evaluate",
        inference_time="less than 10 ms per example",
        gpu_memory_gb=1.0, train_time_s=60.0, inference_time_s=0.01,
    ),
    input_spec=InputSpec(shape=(64,), num_classes=10, batch_size=64, train_examples=1_437),
)


def builtin_tasks() -> list[Task]:
    return [*DEEPBENCH_TASKS, DEMO_TASK]
