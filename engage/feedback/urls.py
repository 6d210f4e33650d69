"""API routes, mounted under /api/."""

from django.urls import path

from .api import views

urlpatterns = [
    path("feedback", views.FeedbackView.as_view(), name="feedback-create"),
    path("feedback/report", views.ReportView.as_view(), name="feedback-report"),
]
