from simulator import create_app

app = create_app()
