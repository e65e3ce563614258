"""Real-shaped training records for the fidelity tests: LLaMA-Factory ShareGPT and Alpaca, OpenAI
chat fine-tuning, with tool calls, tool results, tool definitions, preference pairs, KTO labels,
content parts and unknown fields."""

from __future__ import annotations

import copy
import json

WEATHER_TOOL = {"name": "get_weather", "description": "Current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                               "required": ["city"]}}
TOOLS_TEXT = json.dumps([WEATHER_TOOL])


def sharegpt_tool_call(city: str, temp: int) -> dict:
    """An 8-turn tool conversation, as LLaMA-Factory's glaive-style data has."""
    return {
        "conversations": [
            {"from": "human", "value": "What's the weather in Paris?"},
            {"from": "function_call", "value": json.dumps({"name": "get_weather", "arguments": {"city": "Paris"}})},
            {"from": "observation", "value": json.dumps({"temp": 18, "sky": "clear"})},
            {"from": "gpt", "value": "It is 18 °C and clear in Paris."},
            {"from": "human", "value": f"And in {city}?"},
            {"from": "function_call", "value": json.dumps({"name": "get_weather", "arguments": {"city": city}})},
            {"from": "observation", "value": json.dumps({"temp": temp, "sky": "cloudy"})},
            {"from": "gpt", "value": f"It is {temp} °C and cloudy in {city}."},
        ],
        "system": "You are a weather assistant.",
        "tools": TOOLS_TEXT,
    }


SHAREGPT = [
    sharegpt_tool_call("Rome", 21),
    sharegpt_tool_call("Milan", 21),          # differs only in one tool call: not a duplicate
    {"conversations": [{"from": "system", "value": "Answer briefly."},
                       {"from": "human", "value": "What is dropout?"}, {"from": "gpt", "value": "A regulariser."},
                       {"from": "human", "value": "And batch norm?"}, {"from": "gpt", "value": "A normaliser."}]},
    {"conversations": [{"from": "human", "value": "Name an optimiser."}],
     "chosen": {"from": "gpt", "value": "Adam."}, "rejected": {"from": "gpt", "value": "ReLU."}},
    {"conversations": [{"from": "human", "value": "Is ReLU smooth?"}, {"from": "gpt", "value": "Yes, everywhere."}],
     "kto_tag": False},
    {"conversations": [{"from": "human", "value": "Describe ResNet."}, {"from": "gpt", "value": "Residual nets."}],
     "images": ["resnet.png"], "id": "r-7", "kind": "instruction", "category": "description generation"},
]

OPENAI = [
    {"messages": [
        {"role": "system", "content": "You are a weather assistant."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_a1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_a1", "content": "{\"temp\": 18}"},
        {"role": "assistant", "content": "It is 18 °C in Paris."},
        {"role": "user", "content": "And Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_b2", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}}]},
        {"role": "tool", "tool_call_id": "call_b2", "content": "{\"temp\": 21}"},
        {"role": "assistant", "content": "It is 21 °C in Rome."}],
     "tools": [{"type": "function", "function": WEATHER_TOOL}],
     "parallel_tool_calls": False},
    {"messages": [{"role": "user", "content": [{"type": "text", "value": "What is LoRA?"}]},
                  {"role": "assistant", "content": [{"type": "text", "text": "Low-rank adaptation."}]}]},
    {"messages": [{"role": "user", "content": "Best optimiser for transformers?"}],
     "chosen": {"role": "assistant", "content": "AdamW."}, "rejected": {"role": "assistant", "content": "SGD."}},
    {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 0},
                  {"role": "user", "content": "What is a CNN?"},
                  {"role": "assistant", "content": "A convolutional network.", "weight": 1}],
     "metadata": {"source": "handwritten"}},
]

ALPACA = [
    {"instruction": "And batch norm?", "input": "", "output": "Normalises activations.",
     "system": "Be brief.", "history": [["What is dropout?", "A regulariser."]]},
    {"instruction": "Pick the better answer.", "input": "Which activation is smooth?",
     "chosen": "GELU.", "rejected": "ReLU."},
    {"instruction": "Is Adam adaptive?", "input": "", "output": "Yes.", "kto_tag": True},
    {"instruction": "Name a tokenizer.", "output": "BPE.", "source": "forum", "lang": "en"},
    {"instruction": "Check the weather in Oslo.", "input": "", "output": "I will call get_weather.",
     "tools": TOOLS_TEXT},
]


def with_duplicates(records: list[dict]) -> list[dict]:
    """The records, then an exact copy of the first one (must fold)."""
    return [*records, copy.deepcopy(records[0])]
