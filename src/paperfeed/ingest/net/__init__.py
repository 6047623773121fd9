"""Network sources: the arXiv API, arXiv OAI-PMH, Hugging Face daily papers, plain URLs."""
