"""A person's own account: their details for the record of training, and their password."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")
