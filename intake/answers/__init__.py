"""Public answers (ITA e9): questions and answers published on /faq with the asker's consent."""
