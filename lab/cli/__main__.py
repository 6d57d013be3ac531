from lab.cli import app

app()
