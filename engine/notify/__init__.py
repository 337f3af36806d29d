"""The message centre (站内消息): messages to users about their tasks, and the senders that carry
them (in-app always; SMS or e-mail through a deployment's gateway)."""
