"""The survey pages customers reach from a message's signed links, without
an API key: the signature is the authorization."""

from django.urls import path

from . import pages

app_name = "feedback"

urlpatterns = [
    path("f/<str:token>/", pages.survey, name="survey"),
    path("f/<str:token>/comment/", pages.comment, name="comment"),
    path("f/<str:token>/<str:score>/", pages.answer, name="answer"),
]
