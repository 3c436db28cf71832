import { graphql } from '../gql';

export const ThreatDetectedDoc = graphql(`
  subscription LiveThreats(
    $minSeverity: Int
    $categories: [ThreatCategory!]
    $countries: [String!]
    $after: String
  ) {
    threatDetected(minSeverity: $minSeverity, categories: $categories, countries: $countries, after: $after) {
      id
      cursor
      sourceIp
      threatType
      severity
      occurredAt
      sensor
      geo {
        countryCode
        countryName
        latitude
        longitude
        approximate
      }
      classification {
        category
      }
    }
  }
`);

export const DecisionAddedDoc = graphql(`
  subscription LiveDecisionAdded($filter: DecisionFilter, $after: String) {
    decisionAdded(filter: $filter, after: $after) {
      id
      cursor
      type
      scope
      value
      scenario
      origin
      expiresAt
      geo {
        countryCode
      }
    }
  }
`);

export const DecisionDeletedDoc = graphql(`
  subscription LiveDecisionDeleted($filter: DecisionFilter, $after: String) {
    decisionDeleted(filter: $filter, after: $after) {
      id
      cursor
      type
      scope
      value
      scenario
      origin
      geo {
        countryCode
      }
    }
  }
`);

export const AlertCreatedDoc = graphql(`
  subscription LiveAlerts($after: String) {
    alertCreated(after: $after) {
      id
      cursor
      scenario
      sourceValue
      eventsCount
      createdAt
      geo {
        countryCode
      }
    }
  }
`);

export const IocEnrichedDoc = graphql(`
  subscription LiveIocs($after: String) {
    iocEnriched(after: $after) {
      id
      cursor
      type
      value
      riskScore
      riskLevel
      categories
    }
  }
`);
