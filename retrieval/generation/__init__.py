"""Generation: the language-model seam, the prompts built for it and the verification of its citations."""
