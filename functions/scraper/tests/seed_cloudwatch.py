"""Seeds moto (at argv[1]) for the CloudWatch test: tagged ECS clusters and services,
an SQS queue, a tagged EC2 instance, and ECS Container Insights, SQS, EC2, Auto
Scaling, DynamoDB (an account-level metric, no table) and custom-namespace datapoints at
the two minutes starting at epoch second argv[2] (one per scheduled run's window). Prints the instance id; any error is a non-zero exit with botocore's
message."""
import datetime
import sys

import botocore.session

endpoint, start = sys.argv[1], int(sys.argv[2])
session = botocore.session.get_session()
kw = dict(region_name="eu-west-1", endpoint_url=endpoint,
          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
ecs = session.create_client("ecs", **kw)
ecs.register_task_definition(family="app", containerDefinitions=[{"name": "app", "image": "app", "memory": 128}])
for cluster, env, services in [("prod", "prod", ["checkout", "cart"]), ("staging", "staging", ["api"])]:
    ecs.create_cluster(clusterName=cluster, tags=[{"key": "env", "value": env}, {"key": "team", "value": "shop"}])
    for service in services:
        ecs.create_service(cluster=cluster, serviceName=service, taskDefinition="app", desiredCount=1,
                           tags=[{"key": "env", "value": env}])
sqs = session.create_client("sqs", **kw)
sqs.create_queue(QueueName="orders", tags={"env": "prod"})

ec2 = session.create_client("ec2", **kw)
image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[
    {"ResourceType": "instance", "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "Name", "Value": "web-1"}]}
])["Instances"][0]["InstanceId"]

cw = session.create_client("cloudwatch", **kw)
# (cluster, service) -> metric -> values for minute 0 and minute 1
values = {
    ("prod", "checkout"): {"CpuUtilized": [40, 42], "CpuReserved": [256, 256], "MemoryUtilized": [300, 400],
                           "MemoryReserved": [1000, 1000], "RunningTaskCount": [2, 2], "PendingTaskCount": [0, 1]},
    ("prod", "cart"): {"CpuUtilized": [10, 12], "CpuReserved": [256, 256], "MemoryUtilized": [100, 250],
                       "MemoryReserved": [500, 500], "RunningTaskCount": [1, 1], "PendingTaskCount": [0, 0]},
    ("staging", "api"): {"CpuUtilized": [5, 5], "CpuReserved": [256, 256], "MemoryUtilized": [50, 50],
                         "MemoryReserved": [500, 500], "RunningTaskCount": [1, 1], "PendingTaskCount": [3, 3]},
}
for minute in range(2):
    ts = datetime.datetime.fromtimestamp(start + 60 * minute + 10, tz=datetime.timezone.utc)
    data = []
    for (cluster, service), metrics in values.items():
        for name, series in metrics.items():
            data.append({"MetricName": name, "Timestamp": ts, "Value": float(series[minute]),
                         "Dimensions": [{"Name": "ClusterName", "Value": cluster},
                                        {"Name": "ServiceName", "Value": service}]})
    cw.put_metric_data(Namespace="ECS/ContainerInsights", MetricData=data)
    cw.put_metric_data(Namespace="AWS/SQS", MetricData=[{
        "MetricName": "ApproximateNumberOfMessagesVisible", "Timestamp": ts, "Value": float(17 + minute),
        "Dimensions": [{"Name": "QueueName", "Value": "orders"}]}])
    cw.put_metric_data(Namespace="AWS/EC2", MetricData=[{
        "MetricName": "CPUUtilization", "Timestamp": ts, "Value": float(55 + minute),
        "Dimensions": [{"Name": "InstanceId", "Value": instance}]}])
    cw.put_metric_data(Namespace="AWS/AutoScaling", MetricData=[{
        "MetricName": "GroupInServiceInstances", "Timestamp": ts, "Value": float(3 + minute),
        "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "web"}]}])
    # No table exists: YACE exports nothing for a DynamoDB job, not a global series.
    cw.put_metric_data(Namespace="AWS/DynamoDB", MetricData=[{
        "MetricName": "AccountProvisionedReadCapacityUtilization", "Timestamp": ts,
        "Value": float(30 + minute)}])
    cw.put_metric_data(Namespace="Shop", MetricData=[{
        "MetricName": "Orders", "Timestamp": ts, "Value": float(7 + minute),
        "Dimensions": [{"Name": "Store", "Value": "eu"}]}])
print(instance)
