"""Write the demo DeepData set (resources/demo/deepdata_demo.jsonl), deterministically.

    python resources/demo/make_demo.py

Every instruction category, every DLPD kind and DeepQA multiple-choice questions, written for
this project from a small hand-written knowledge base of deep-learning techniques (no text from
the paper's data set, which is not public). A few paraphrased pairs are included on purpose so
the near-duplicate finder has something to show; a few samples carry Alpaca history or a system
prompt so the conversation view has something to show.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("deepdata_demo.jsonl")

# name: (short description, key property, typical use, a formula in LaTeX, year)
TECH = {
    "ResNet": ("a convolutional network built from residual blocks that add each block's input to its output",
               "identity shortcuts let gradients flow through very deep stacks, so 100+ layers train stably",
               "image classification and as a backbone for detection", r"y = \mathcal{F}(x, \{W_i\}) + x", 2015),
    "Transformer": ("a sequence model built entirely from multi-head self-attention and position-wise feed-forward layers",
                    "every token attends to every other token in one step, so long-range dependencies are cheap to model",
                    "machine translation, language modelling and, with patches, vision",
                    r"\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right)V", 2017),
    "Batch Normalization": ("a layer that normalises activations with the mini-batch mean and variance, then rescales them",
                            "it reduces sensitivity to initialisation and allows larger learning rates",
                            "almost every convolutional network",
                            r"\hat{x} = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}},\quad y = \gamma \hat{x} + \beta", 2015),
    "Layer Normalization": ("a normalisation over the features of each example instead of over the batch",
                            "it behaves identically at training and inference time and does not depend on batch size",
                            "Transformers and recurrent networks",
                            r"y = \frac{x - \mathbb{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \odot \gamma + \beta", 2016),
    "Dropout": ("a regulariser that zeroes each activation with probability p during training",
                "it prevents co-adaptation of units and acts like an ensemble of thinned networks",
                "fully connected layers and attention weights", r"\tilde{h} = \frac{m \odot h}{1-p},\ m_i \sim \mathrm{Bernoulli}(1-p)", 2014),
    "Adam": ("an optimiser that keeps running estimates of the first and second moments of the gradient",
             "per-parameter step sizes make it robust to badly scaled gradients with little tuning",
             "training Transformers and most research prototypes",
             r"\theta_{t} = \theta_{t-1} - \eta \frac{\hat{m}_t}{\sqrt{\hat{v}_t} + \epsilon}", 2014),
    "LoRA": ("a fine-tuning method that freezes the pretrained weights and learns a low-rank update",
             "it trains well under 1% of the parameters and merges into the weights with no inference cost",
             "adapting large language models on a single GPU", r"W' = W + \frac{\alpha}{r} BA,\ B \in \mathbb{R}^{d\times r}, A \in \mathbb{R}^{r\times k}", 2021),
    "Vision Transformer": ("a Transformer encoder applied to a sequence of flattened image patches",
                           "with enough pretraining data it matches or beats CNNs while scaling smoothly",
                           "image classification and dense prediction backbones",
                           r"z_0 = [x_{cls}; x_p^1 E; \dots; x_p^N E] + E_{pos}", 2020),
    "U-Net": ("an encoder-decoder with skip connections between matching resolutions",
              "skip connections recover fine spatial detail lost by downsampling",
              "biomedical segmentation and the denoiser of diffusion models", r"\hat{y} = D(E(x)) \text{ with } D_\ell \leftarrow [D_{\ell+1}\uparrow; E_\ell]", 2015),
    "Squeeze-and-Excitation block": ("a block that pools each channel globally and learns per-channel gates",
                                     "it recalibrates channel responses for about 1% extra compute",
                                     "improving ResNet-style backbones",
                                     r"s = \sigma(W_2\,\delta(W_1\, \mathrm{GAP}(U))),\quad \tilde{U}_c = s_c U_c", 2018),
    "Focal loss": ("a cross-entropy variant that down-weights well-classified examples",
                   "it focuses training on hard, rare examples under extreme class imbalance",
                   "one-stage object detectors such as RetinaNet", r"\mathrm{FL}(p_t) = -\alpha_t (1-p_t)^\gamma \log p_t", 2017),
    "Knowledge distillation": ("training a small student to match the softened outputs of a large teacher",
                               "soft targets carry information about class similarities that hard labels lack",
                               "compressing models for deployment",
                               r"\mathcal{L} = (1-\lambda)\,\mathrm{CE}(y, p_s) + \lambda T^2\, \mathrm{KL}(p_t^{T} \| p_s^{T})", 2015),
    "Mixup": ("a data augmentation that trains on convex combinations of pairs of examples and their labels",
              "it smooths decision boundaries and improves calibration",
              "image classification and speech", r"\tilde{x} = \lambda x_i + (1-\lambda) x_j,\ \lambda \sim \mathrm{Beta}(\alpha,\alpha)", 2017),
    "Denoising diffusion model": ("a generative model that learns to reverse a gradual Gaussian noising process",
                                  "training is a simple regression on the added noise and is very stable",
                                  "text-to-image generation", r"\mathcal{L} = \mathbb{E}_{t,x_0,\epsilon}\left\|\epsilon - \epsilon_\theta(\sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\epsilon, t)\right\|^2", 2020),
    "Contrastive learning (SimCLR)": ("self-supervised learning that pulls two augmentations of an image together and pushes others apart",
                                      "it learns transferable features without labels",
                                      "pretraining vision backbones", r"\ell_{i,j} = -\log \frac{\exp(\mathrm{sim}(z_i,z_j)/\tau)}{\sum_{k\neq i} \exp(\mathrm{sim}(z_i,z_k)/\tau)}", 2020),
    "Depthwise separable convolution": ("a convolution split into a per-channel spatial filter and a 1x1 pointwise mix",
                                        "it cuts parameters and FLOPs by roughly the kernel area",
                                        "mobile networks such as MobileNet and Xception", r"\text{cost} = D_K^2 M D_F^2 + M N D_F^2", 2017),
    "Label smoothing": ("replacing one-hot targets with a mixture of the one-hot vector and a uniform distribution",
                        "it discourages over-confident logits and improves calibration",
                        "image classification and translation", r"y^{LS}_k = (1-\varepsilon)\, y_k + \varepsilon / K", 2016),
    "Cosine learning-rate schedule": ("a schedule that decays the learning rate along half a cosine period",
                                      "it anneals smoothly to a small value without step-size cliffs",
                                      "training CNNs and Transformers", r"\eta_t = \eta_{min} + \tfrac{1}{2}(\eta_{max}-\eta_{min})(1+\cos(\pi t/T))", 2016),
    "Graph convolutional network": ("a network that aggregates each node's neighbours with a normalised adjacency matrix",
                                    "it shares weights across nodes, so it works on graphs of any size",
                                    "node classification and recommendation", r"H^{(l+1)} = \sigma(\tilde{D}^{-1/2}\tilde{A}\tilde{D}^{-1/2} H^{(l)} W^{(l)})", 2016),
    "Conformer": ("a speech encoder that interleaves self-attention with convolution modules",
                  "attention captures global context while convolution captures local acoustic patterns",
                  "automatic speech recognition", r"y = \mathrm{LN}(x + \tfrac12 \mathrm{FFN}(x) + \mathrm{MHSA} + \mathrm{Conv} + \tfrac12 \mathrm{FFN})", 2020),
}

COMBOS = [
    ("ResNet", "Squeeze-and-Excitation block", "SE-ResNet: channel gating inside each residual block, about +1% top-1 on ImageNet for ~2% more compute"),
    ("Transformer", "LoRA", "parameter-efficient fine-tuning of a pretrained Transformer by adding low-rank updates to the attention projections"),
    ("Vision Transformer", "Knowledge distillation", "DeiT-style training where a CNN teacher lets a ViT reach strong accuracy on ImageNet alone"),
    ("U-Net", "Denoising diffusion model", "the standard denoiser of diffusion models: a U-Net with attention layers predicts the noise at each step"),
    ("ResNet", "Mixup", "a ResNet trained on mixed images and labels, which is better calibrated and more robust to label noise"),
    ("Transformer", "Conformer", "a speech encoder that keeps Transformer attention but adds depthwise convolution modules"),
    ("Depthwise separable convolution", "Squeeze-and-Excitation block", "MobileNetV3-style blocks: cheap separable convolutions with lightweight channel attention"),
    ("Adam", "Cosine learning-rate schedule", "AdamW with warm-up and cosine decay, the default recipe for pretraining Transformers"),
    ("Contrastive learning (SimCLR)", "ResNet", "a ResNet-50 pretrained without labels whose linear probe approaches supervised accuracy"),
    ("Focal loss", "ResNet", "RetinaNet: a ResNet-FPN backbone trained with focal loss for one-stage detection"),
]

REQUIREMENTS = [
    ("image classification", "CIFAR-10", "accuracy", "~15GB", "~10 hours", "<1 s", "a ResNet-18 adapted to 32x32 inputs (3x3 stem, no max-pool)"),
    ("sentiment classification", "GLUE SST-2", "accuracy", "~12GB", "~2 hours", "<0.1 s", "a DistilBERT encoder with a linear classification head"),
    ("speech recognition", "LibriSpeech mini", "WER", "~24GB", "~12 hours", "<1 s", "a small Conformer encoder trained with CTC loss"),
    ("text-to-image generation", "MS COCO mini", "FID", "~40GB", "~20 hours", "<5 s", "a latent diffusion model with a small U-Net denoiser and a frozen text encoder"),
    ("recommendation", "MovieLens-100K", "RMSE", "~4GB", "~1 hour", "<10 ms", "a neural matrix factorisation model with user and item embeddings of size 64"),
    ("object detection", "MS COCO mini", "box AP", "~24GB", "~16 hours", "<0.2 s", "a RetinaNet with a ResNet-50-FPN backbone and focal loss"),
    ("face recognition", "LFW", "accuracy", "~16GB", "~8 hours", "<50 ms", "a ResNet-50 embedding network trained with an ArcFace margin loss"),
    ("natural language inference", "GLUE MNLI", "accuracy", "~24GB", "~6 hours", "<0.1 s", "a RoBERTa-base encoder fine-tuned with a pair-classification head"),
    ("question answering", "GLUE QNLI", "accuracy", "~16GB", "~4 hours", "<0.1 s", "a BERT-base cross-encoder over question and sentence pairs"),
    ("image captioning", "MS COCO mini", "BLEU-4", "~24GB", "~12 hours", "<1 s", "a ViT encoder with a small Transformer decoder trained with teacher forcing"),
]

IMPROVEMENTS = [
    ("ResNet", "channel interdependencies are ignored", "Squeeze-and-Excitation block",
     "It pools each channel, passes the vector through a two-layer bottleneck and rescales the channels, so informative channels are emphasised."),
    ("Vision Transformer", "it needs huge data sets because it lacks locality bias", "convolutional stem",
     "Replacing the patchify layer by a few strided 3x3 convolutions gives early layers a locality prior and makes optimisation less sensitive to the learning rate."),
    ("U-Net", "it misses long-range context at low resolution", "self-attention block at the bottleneck",
     "Adding multi-head self-attention at the 16x16 and 8x8 resolutions lets every position see the whole image where it is cheap."),
    ("Transformer", "attention cost grows quadratically with length", "sliding-window attention block",
     "Each token attends only to a local window, with a few global tokens, so cost grows linearly while most quality is kept."),
    ("Graph convolutional network", "deep stacks over-smooth node features", "residual connection with initial-feature mixing",
     "Mixing a fraction of the input features back in at every layer (as in GCNII) keeps nodes distinguishable at depth 32 and beyond."),
    ("Conformer", "convolution kernels are fixed-size", "dynamic depthwise convolution module",
     "Kernels predicted from the input adapt the receptive field to speaking rate at a small extra cost."),
]

HYPERPARAMS = [
    ("learning rate", "ResNet-50 on ImageNet with SGD and batch size 256", "0.1"),
    ("learning rate", "BERT-base fine-tuning on GLUE", "2e-5"),
    ("learning rate", "LoRA fine-tuning of a 7B language model", "2e-4"),
    ("batch size", "ViT-B/16 pretraining on ImageNet-21k", "4096"),
    ("weight decay", "AdamW training of a Vision Transformer", "0.05"),
    ("dropout", "a Transformer-base translation model", "0.1"),
    ("number of epochs", "fine-tuning a ResNet-18 on CIFAR-10 from scratch", "200"),
    ("learning rate", "a DDPM U-Net on CIFAR-10 with Adam", "2e-4"),
    ("optimizer", "training a small Conformer for speech recognition", "AdamW with a Noam-style warm-up schedule"),
    ("batch size", "SimCLR pretraining of a ResNet-50", "4096"),
]

FILLER = [
    "In practice this is combined with standard data augmentation and a warm-up period.",
    "Reported gains are largest when the training budget is limited.",
    "Implementations exist in PyTorch and JAX with only a few lines of code.",
    "The idea has since been adopted by many follow-up architectures.",
    "Ablations in the original work show that each component contributes to the result.",
]


def answer(rng: random.Random, *sentences: str) -> str:
    body = " ".join(sentences)
    extra = rng.sample(FILLER, 2)
    return f"{body} {' '.join(extra)}"


def build(rng: random.Random) -> list[dict]:
    out: list[dict] = []
    names = list(TECH)

    def add(kind: str, category: str, instruction: str, output: str, **extra) -> None:
        out.append({"kind": kind, "category": category, "instruction": instruction, "input": extra.pop("input", ""),
                    "output": output, **extra})

    for name, (desc, prop, use, formula, year) in TECH.items():
        add("instruction", "description generation", f"Describe {name}.",
            answer(rng, f"{name} is {desc}.", f"Its key property: {prop}.", f"It is typically used for {use}."))
        add("instruction", "description generation", f"What is {name} and why was it introduced?",
            answer(rng, f"{name} ({year}) is {desc}.", f"It was introduced because {prop}."))
        add("instruction", "property prediction", f"What property makes {name} useful?",
            answer(rng, f"The main property of {name} is that {prop}.", f"This is why it is popular for {use}."))
        add("instruction", "mathematical expression", f"Give the core equation of {name} in LaTeX.",
            answer(rng, f"The core of {name} can be written as $${formula}$$", "where the symbols follow the original notation."))
        add("instruction", "name guessing", f"Which technique is described here: {desc}?",
            answer(rng, f"This describes **{name}**.", f"It is known for the fact that {prop}."))
        add("instruction", "miscellaneous", f"In which applications is {name} used, and when did it appear?",
            answer(rng, f"{name} appeared around {year}.", f"Typical applications: {use}."))
        add("instruction", "reasoning", f"Why does {name} help when training is unstable or slow?",
            answer(rng, f"Step by step: {name} is {desc}.", f"Because {prop}, optimisation is better conditioned.",
                   "So training converges faster and more reliably."))
    for a, b, result in COMBOS:
        add("instruction", "combination prediction", f"What do you get if you combine {a} with {b}?",
            answer(rng, f"Combining {a} with {b} gives {result}."))
        add("instruction", "combination prediction", f"How could {b} be integrated into {a}?",
            answer(rng, f"A common integration is {result}.", f"{b} is inserted where {a} already has a natural extension point."))
    for task, dataset, metric, mem, train, infer, model in REQUIREMENTS:
        add("dlpd", "requirement-based proposal",
            f"What would be the model that performs {task} on {dataset}, evaluated by {metric}, under\n"
            f"- gpu memory: {mem}\n- train time: {train}\n- inference time: {infer}?",
            answer(rng, f"One possible model is {model}.", f"It fits in {mem} of GPU memory and trains within {train}.",
                   f"Inference stays under {infer} per example."))
    for base, weakness, block, why in IMPROVEMENTS:
        add("dlpd", "property-based improvement",
            f"What would be the block that improves {base}, given that {weakness}?",
            answer(rng, f"One possible block is a {block}.", why))
    for hp, setting, value in HYPERPARAMS:
        add("dlpd", "hyperparameter prediction", f"What is a recommended {hp} for {setting}?", value)

    categories = ["description generation", "property prediction", "name guessing", "combination prediction",
                  "reasoning", "mathematical expression", "miscellaneous"]
    for i, name in enumerate(names * 3):
        desc, prop, use, formula, year = TECH[name]
        distractors = rng.sample([n for n in names if n != name], 4)
        letters = "ABCDE"
        correct = rng.randrange(5)
        category = categories[i % len(categories)]
        if category == "mathematical expression":
            question = f"Which technique is defined by ${formula}$?"
        elif category == "property prediction":
            question = f"Which technique has this property: {prop}?"
        elif category == "miscellaneous":
            question = f"Which technique is most associated with {use} (introduced around {year})?"
        else:
            question = f"Which of the following is {desc}?"
        opts = distractors[:]
        opts.insert(correct, name)
        record = {"question": question, "options": {letters[k]: opts[k] for k in range(5)},
                  "answer": f"{letters[correct]}. {name}" if i % 2 else letters[correct], "category": category}
        if i % 4 == 0:  # the list form is accepted too
            record["options"] = opts
        key = json.dumps(record, sort_keys=True)
        if key not in {json.dumps(r, sort_keys=True) for r in out}:
            out.append(record)

    # Conversations: Alpaca history and a system prompt.
    for name in names[:6]:
        desc, prop, use, _, _ = TECH[name]
        add("instruction", "reasoning", f"And why would I prefer it over a plain baseline for {use}?",
            answer(rng, f"Because {prop}.", "A plain baseline lacks this, so it needs more tuning to match."),
            history=[[f"What is {name}?", f"{name} is {desc}."]],
            system="You are DeepOnes, an assistant for designing deep learning programs.")
    # Near-duplicates on purpose: a reworded question with a lightly edited copy of the answer.
    for name in names[:5]:
        original = next(r["output"] for r in out if r.get("instruction") == f"Describe {name}.")
        add("instruction", "description generation", f"Please describe {name}.",
            original.replace(" is ", " is essentially ", 1).replace("It is typically", "It is usually"))
    return out


def main() -> None:
    rng = random.Random(20240601)
    records = build(rng)
    with open(OUT, "w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} samples to {OUT}")


if __name__ == "__main__":
    main()
