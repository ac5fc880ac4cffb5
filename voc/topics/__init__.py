"""Topic discovery (BERTopic, fully offline), topics over time, and curation folded back into the taxonomy."""

from voc.topics.info import OUTLIER_ID, FitStats, TopicInfo
from voc.topics.model import TopicModel, auto_n_topics, load_topic_model

__all__ = ["OUTLIER_ID", "FitStats", "TopicInfo", "TopicModel", "auto_n_topics", "load_topic_model"]
