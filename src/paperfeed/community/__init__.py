"""The community: accounts, sessions, votes, comments, submissions, libraries, moderation."""
