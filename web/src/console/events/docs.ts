import { graphql } from '../gql';

export const EventsDoc = graphql(`
  query ThreatEvents($filter: ThreatEventFilter, $after: String) {
    threatEvents(filter: $filter, first: 100, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          sourceIp
          threatType
          severity
          occurredAt
          sensor
          label
          geo {
            countryCode
          }
          classification {
            category
            isAnomaly
          }
        }
      }
    }
  }
`);

export const EventDoc = graphql(`
  query ThreatEvent($id: ID!) {
    threatEvent(id: $id) {
      id
      externalId
      sourceIp
      destinationIp
      sourcePort
      destinationPort
      protocol
      threatType
      severity
      confidence
      description
      sensor
      tags
      occurredAt
      ingestedAt
      knownIoc
      banned
      label
      raw
      geo {
        countryCode
        countryName
        city
        asn
        asOrg
        latitude
        longitude
        approximate
      }
      classification {
        category
        confidence
        anomalyScore
        isAnomaly
        method
        modelVersion
      }
    }
  }
`);

export const LabelDoc = graphql(`
  mutation LabelEvent($id: ID!, $category: ThreatCategory!) {
    labelThreatEvent(id: $id, category: $category) {
      id
      label
    }
  }
`);

export const ModelsDoc = graphql(`
  query ClassifierModels {
    classifierModels(first: 20) {
      id
      kind
      version
      createdAt
      trainedOn
      cvAccuracy
      rulesAccuracy
      promoted
      active
    }
  }
`);

export const TrainDoc = graphql(`
  mutation TrainClassifier {
    trainClassifier {
      id
      promoted
    }
  }
`);

export const RefitDoc = graphql(`
  mutation RefitAnomaly {
    refitAnomalyModel {
      id
    }
  }
`);
