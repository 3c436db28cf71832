import { graphql } from '../gql';

export const ThreatDetectedDoc = graphql(`
  subscription LiveThreats($minSeverity: Int, $categories: [ThreatCategory!], $countries: [String!]) {
    threatDetected(minSeverity: $minSeverity, categories: $categories, countries: $countries) {
      id
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
  subscription LiveDecisionAdded($filter: DecisionFilter) {
    decisionAdded(filter: $filter) {
      id
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
  subscription LiveDecisionDeleted($filter: DecisionFilter) {
    decisionDeleted(filter: $filter) {
      id
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
  subscription LiveAlerts {
    alertCreated {
      id
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
  subscription LiveIocs {
    iocEnriched {
      id
      type
      value
      riskScore
      riskLevel
      categories
    }
  }
`);
