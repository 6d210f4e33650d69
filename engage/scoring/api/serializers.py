from rest_framework import serializers

from engage.scoring.models import ScoreHistory


class HistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoreHistory
        fields = ["week", "value", "cell"]


class ScoreSerializer(serializers.Serializer):
    model = serializers.CharField(source="score.model", help_text="Scoring model id.")
    value = serializers.FloatField(source="score.value")
    cell = serializers.CharField(source="score.cell", help_text="Named bucket; may be empty.")
    components = serializers.DictField(
        source="score.components", help_text="What the value is made of."
    )
    computed_at = serializers.DateTimeField(source="score.computed_at")
    previous_value = serializers.FloatField(
        allow_null=True, help_text="The value of the latest earlier week."
    )
    trend = serializers.ChoiceField(
        choices=["up", "down", "flat"], allow_null=True, help_text="Against previous_value."
    )
    history = HistorySerializer(many=True, help_text="Weekly values, newest first.")


class ProfileScoresSerializer(serializers.Serializer):
    profile_id = serializers.IntegerField()
    scores = ScoreSerializer(many=True)
