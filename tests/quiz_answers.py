"""The quiz's answer key as option ids (the seed's ten questions; notes/facts.md checks it): the right
answers a test's synthetic attempt starts from."""

KEY = {
    "Q1": "resnet",
    "Q2": "contrastive-search",
    "Q3": "beats",
    "Q4": "cosine-similarity",
    "Q5": "audioldm",
    "Q6": "vicuna",
    "Q7": "audio-generation",
    "Q8": "imagebind",
    "Q9": "tiny-transformer",
    "Q10": "vicuna",
}
