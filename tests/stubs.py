"""What an assignment's student version holds before the student writes anything."""


def stub(*args, **kwargs):
    raise NotImplementedError("exercise stub")
